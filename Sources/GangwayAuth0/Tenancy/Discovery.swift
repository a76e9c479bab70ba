import GangwayPlatform
/// The OpenID Connect discovery document (`/.well-known/openid-configuration`) for a tenant.
/// Every endpoint is derived from the issuer, so it always points at the host that serves the tenant.
public struct DiscoveryDocument: Codable, Sendable {
    public var issuer: String
    public var authorization_endpoint: String
    public var token_endpoint: String
    public var userinfo_endpoint: String
    public var jwks_uri: String
    public var revocation_endpoint: String
    public var scopes_supported: [String]
    public var response_types_supported: [String]
    public var response_modes_supported: [String]
    public var subject_types_supported: [String]
    public var id_token_signing_alg_values_supported: [String]
    public var token_endpoint_auth_methods_supported: [String]
    public var claims_supported: [String]
    public var grant_types_supported: [String]
    public var request_uri_parameter_supported: Bool

    public init(tenant: Tenant) {
        let base = tenant.issuer
        issuer = base
        authorization_endpoint = base + "authorize"
        token_endpoint = base + "oauth/token"
        userinfo_endpoint = base + "userinfo"
        jwks_uri = base + ".well-known/jwks.json"
        revocation_endpoint = base + "oauth/revoke"
        scopes_supported = ["openid", "profile", "email", "offline_access"]
        response_types_supported = ["code"]
        response_modes_supported = ["query", "form_post"]
        subject_types_supported = ["public"]
        id_token_signing_alg_values_supported = ["RS256"]
        token_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post"]
        claims_supported = [
            "aud", "auth_time", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss",
            "name", "nickname", "picture", "preferred_username", "sub", "updated_at",
        ]
        grant_types_supported = [
            "password", Application.passwordRealmGrant, "refresh_token", "client_credentials",
        ]
        request_uri_parameter_supported = false
    }
}
