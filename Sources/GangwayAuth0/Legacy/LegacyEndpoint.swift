import FoundationEssentials
import GangwayPlatform

/// Auth0's legacy endpoints, answered as Auth0 answers a tenant where they are disabled (shared/reference/
/// auth0-import-export.md §5) — with the way forward in the description, since an application that still calls
/// one must change anyway — and found by operators through Auth0's deprecation-notice log event (`depnote`).
public struct LegacyEndpoint: Sendable, Equatable {
    public let path: String
    public let status: Int
    public let error: String
    public let description: String

    /// By route path (the route table sends only these here).
    public static func named(_ path: String) -> LegacyEndpoint? { all.first { $0.path == path } }

    public static let all: [LegacyEndpoint] = [
        LegacyEndpoint(
            path: "/oauth/ro", status: 403, error: "unauthorized_client",
            description: "Grant type 'http://auth0.com/oauth/legacy/grant-type/ro' not allowed for the client. Use POST /oauth/token "
                + "with grant_type password, or http://auth0.com/oauth/grant-type/password-realm with realm in place of connection."),
        LegacyEndpoint(
            path: "/delegation", status: 403, error: "unauthorized_client",
            description: "Grant type 'http://auth0.com/oauth/legacy/grant-type/delegation/id_token' not allowed for the client. "
                + "Use refresh tokens (scope offline_access) at POST /oauth/token, silent authentication (prompt=none) in single-page "
                + "applications, and access tokens for your APIs."),
        LegacyEndpoint(
            path: "/tokeninfo", status: 404, error: "not_found",
            description: "/tokeninfo is not available. Call GET /userinfo with an access token instead of sending an ID token."),
        LegacyEndpoint(
            path: "/usernamepassword/login", status: 404, error: "not_found",
            description: "The legacy Lock API was removed. Log in through Universal Login (/authorize) or POST /oauth/token "
                + "with the password-realm grant (Lock 11+, auth0.js 9+)."),
        LegacyEndpoint(
            path: "/user/ssodata", status: 404, error: "not_found",
            description: "The SSO data endpoint was removed. Use silent authentication (/authorize with prompt=none) to learn "
                + "whether the user has a session."),
        LegacyEndpoint(
            path: "/oauth/access_token", status: 403, error: "unauthorized_client",
            description: "Grant type 'http://auth0.com/oauth/legacy/grant-type/access_token' not allowed for the client. Use "
                + "browser-based social login through /authorize."),
    ]

    public var httpError: HTTPError { HTTPError(status, error, description) }

    /// How long one application's calls to one legacy endpoint make a single `depnote` (Auth0: once per hour).
    public static let noticeInterval: Int64 = 3_600

    /// Writes the deprecation notice for `clientId` (or an unnamed caller) at most once per `noticeInterval`: the
    /// first call of the hour claims a marker record, the others find it.
    public func recordNotice(clientId: String?, ip: String, store: any KeyValueStore, tenant: Tenant, log: TenantLog) async throws {
        let caller = clientId ?? "-"
        let marker = StoreKeys.deprecationNotice(tenant.id, endpoint: Digest.sha256Hex(path + " " + caller))
        guard try await store.insertIfAbsent(marker, Data("{}".utf8), ttl: .seconds(Self.noticeInterval)) else { return }
        await log.record(
            LogEntry(
                type: .deprecationNotice, description: "Deprecated endpoint \(path) was called: \(description)", clientId: clientId,
                ip: ip, details: ["endpoint": .string(path)]))
    }
}
