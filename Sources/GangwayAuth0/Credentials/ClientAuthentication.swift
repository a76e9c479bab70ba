import FoundationEssentials
import GangwayPlatform

/// The application a token request comes from, and whether it proved its secret.
public struct AuthenticatedClient: Sendable {
    public let application: Application
    /// True when a confidential client presented its secret; public clients (no secret) prove nothing.
    public let authenticated: Bool
    /// The secret it presented and proved, and whether by HTTP Basic: kept in memory for this request only, so
    /// that a refresh re-mint can redeem upstream as this application (`RefreshRemint.Redeemer`). Never stored,
    /// logged or answered; nil for a public client.
    let presentedSecret: String?
    let presentedWithBasic: Bool

    public var clientId: String { application.clientId }

    init(application: Application, authenticated: Bool, presentedSecret: String? = nil, presentedWithBasic: Bool = false) {
        self.application = application
        self.authenticated = authenticated
        self.presentedSecret = authenticated ? presentedSecret : nil
        self.presentedWithBasic = presentedWithBasic
    }
}

/// Client authentication at the token endpoint: `client_secret_post` (secret in the body) or
/// `client_secret_basic` (HTTP Basic, RFC 6749 §2.3.1), whichever the application's `token_endpoint_auth_method`
/// names; `none` is a public client, which may present no secret at all. An unknown client, a wrong secret, a
/// missing one or one in the wrong place all answer 401 `access_denied` "Unauthorized", as Auth0 does.
public enum ClientAuthentication {
    public static let unauthorized = HTTPError(401, "access_denied", "Unauthorized")

    public static func authenticate(
        _ request: FunctionRequest, _ parameters: TokenParameters, store: any KeyValueStore, tenant: Tenant
    ) async throws -> AuthenticatedClient {
        let bodyId = try parameters.optional("client_id")
        let bodySecret = try parameters.optional("client_secret")
        var clientId = bodyId
        var secret = bodySecret
        var method = bodySecret == nil ? Application.AuthMethod.none : .clientSecretPost
        if let basic = try basicCredentials(request) {
            guard bodySecret == nil else { throw HTTPError.badRequest("Use only one client authentication method.") }
            guard bodyId == nil || bodyId == basic.id else { throw unauthorized }
            clientId = basic.id
            secret = basic.secret
            method = .clientSecretBasic
        }
        guard let clientId else { throw HTTPError.badRequest("Missing required parameter: client_id") }
        guard let (application, _) = try await store.getCachedJSON(Application.self, StoreKeys.application(tenant.id, clientId)) else {
            throw unauthorized
        }
        if application.secretHash == nil || application.authMethod == Application.AuthMethod.none {
            // A public client has nothing to prove; a secret it sends cannot be checked, so it is refused.
            guard secret == nil else { throw unauthorized }
            return AuthenticatedClient(application: application, authenticated: false)
        }
        // A confidential client proves itself the way it is configured to (an application stored before
        // `token_endpoint_auth_method` existed may use either way).
        if let configured = application.authMethod, configured != method { throw unauthorized }
        guard let secret, application.secretMatches(secret) else { throw unauthorized }
        return AuthenticatedClient(
            application: application, authenticated: true, presentedSecret: secret, presentedWithBasic: method == .clientSecretBasic)
    }

    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`; nil when there is no Basic header.
    static func basicCredentials(_ request: FunctionRequest) throws(HTTPError) -> (id: String, secret: String)? {
        guard let header = request.header("authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic" else { return nil }
        guard let data = Data(base64Encoded: String(parts[1].drop(while: { $0 == " " }))),
            let text = String(validating: Array(data), as: UTF8.self), let colon = text.firstIndex(of: ":")
        else { throw unauthorized }
        let rawId = String(text[..<colon])
        let rawSecret = String(text[text.index(after: colon)...])
        guard let id = rawId.percentDecoded(plusAsSpace: true), let secret = rawSecret.percentDecoded(plusAsSpace: true), !id.isEmpty else {
            throw unauthorized
        }
        return (id, secret)
    }
}
