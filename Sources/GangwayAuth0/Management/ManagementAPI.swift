import FoundationEssentials
import GangwayPlatform

/// The Management API's front door, shared by every `/api/v2/*` function: only access tokens this tenant
/// issued for `<issuer>api/v2/`, never ID tokens, and the scopes each route names.
public struct ManagementCall: Sendable {
    public let tenant: Tenant
    public let token: AccessToken
    public let store: any KeyValueStore
    public let log: TenantLog

    public var users: UserDirectory { UserDirectory(store: store, tenant: tenant) }

    /// Longest path parameter (an id, a provider) in characters; Auth0's ids are far shorter.
    public static let maximumPathParameterLength = 300

    /// Path parameters arrive percent-decoded, so `%00` is a NUL by now: Auth0's 400 `invalid_uri` for control
    /// characters and over-long values, before anything reaches the store.
    static func validatePath(_ request: FunctionRequest) throws(HTTPError) {
        for (name, value) in (request.event.pathParameters ?? [:]).sorted(by: { $0.key < $1.key }) {
            if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw HTTPError(400, "invalid_uri", "Path validation error: 'String contains control characters' on property \(name).")
            }
            if value.utf8.count > maximumPathParameterLength {
                throw HTTPError(
                    400, "invalid_uri",
                    "Path validation error: 'String is too long (\(value.utf8.count) chars), maximum \(maximumPathParameterLength)' on property \(name)."
                )
            }
        }
    }
}

extension FunctionContext {
    /// Authenticates a Management API call and checks that its token holds any of `scopes`.
    public func management(_ request: FunctionRequest, anyOf scopes: [String]) async throws -> ManagementCall {
        let store = try store()
        let tenant = try await TenantDirectory(store: store).tenant(for: request)
        let verifier = try await TokenVerifier.load(store, tenant: tenant)
        let token = try verifier.verify(AccessToken.bearer(in: request), as: AccessToken.self, at: .managementAPI)
        guard !token.scopes.isDisjoint(with: scopes) else {
            throw HTTPError(403, "insufficient_scope", "Insufficient scope, expected any of: \(scopes.joined(separator: ","))")
        }
        try ManagementCall.validatePath(request)
        return ManagementCall(tenant: tenant, token: token, store: store, log: TenantLog(store: store, tenant: tenant, logger: logger))
    }
}
