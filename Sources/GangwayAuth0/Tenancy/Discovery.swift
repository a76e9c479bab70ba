import GangwayPlatform

/// The OpenID Connect discovery document (`/.well-known/openid-configuration`) for a tenant.
/// Every endpoint is derived from the issuer, so it always points at the host that serves the tenant.
public struct DiscoveryDocument: Codable, Sendable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var userinfoEndpoint: String
    public var jwksUri: String
    public var revocationEndpoint: String
    public var endSessionEndpoint: String
    public var scopesSupported: [String]
    public var responseTypesSupported: [String]
    public var responseModesSupported: [String]
    public var subjectTypesSupported: [String]
    public var idTokenSigningAlgValuesSupported: [String]
    public var tokenEndpointAuthMethodsSupported: [String]
    public var claimsSupported: [String]
    public var grantTypesSupported: [String]
    public var codeChallengeMethodsSupported: [String]
    public var requestParameterSupported: Bool
    public var requestUriParameterSupported: Bool

    /// The wire names are OpenID Connect Discovery 1.0's.
    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case userinfoEndpoint = "userinfo_endpoint"
        case jwksUri = "jwks_uri"
        case revocationEndpoint = "revocation_endpoint"
        case endSessionEndpoint = "end_session_endpoint"
        case scopesSupported = "scopes_supported"
        case responseTypesSupported = "response_types_supported"
        case responseModesSupported = "response_modes_supported"
        case subjectTypesSupported = "subject_types_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case claimsSupported = "claims_supported"
        case grantTypesSupported = "grant_types_supported"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
        case requestParameterSupported = "request_parameter_supported"
        case requestUriParameterSupported = "request_uri_parameter_supported"
    }

    public init(tenant: Tenant) {
        let base = tenant.issuer
        issuer = base
        authorizationEndpoint = base + "authorize"
        tokenEndpoint = base + "oauth/token"
        userinfoEndpoint = base + "userinfo"
        jwksUri = base + ".well-known/jwks.json"
        revocationEndpoint = base + "oauth/revoke"
        endSessionEndpoint = base + "oidc/logout"
        scopesSupported = ["openid", "profile", "email", "offline_access"]
        // Exactly what /authorize answers (AuthorizationRequest): no hybrid types.
        responseTypesSupported = AuthorizationRequest.ResponseType.supported
        responseModesSupported = AuthorizationRequest.ResponseMode.allCases.map(\.rawValue)
        subjectTypesSupported = ["public"]
        idTokenSigningAlgValuesSupported = ["RS256"]
        // `none`: public clients (SPAs, native apps) send only their client_id (`token_endpoint_auth_method`).
        tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post", "none"]
        claimsSupported = [
            "aud", "auth_time", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss",
            "name", "nickname", "picture", "preferred_username", "sub", "updated_at",
        ]
        grantTypesSupported = (GrantType.supported + [.implicit]).map(\.rawValue)
        codeChallengeMethodsSupported = ["S256"]
        requestParameterSupported = false
        requestUriParameterSupported = false
    }
}
