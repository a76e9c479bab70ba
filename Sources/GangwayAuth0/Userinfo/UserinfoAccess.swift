import FoundationEssentials
import GangwayPlatform

/// Who is calling /userinfo: a user's access token of this tenant for `<issuer>userinfo` with `openid`.
public struct UserinfoCaller: Sendable {
    public let tenant: Tenant
    public let token: AccessToken
    public let user: User

    /// The OIDC-conformant profile for the token's scopes (`sub`, never the legacy `user_id`).
    public var claims: [String: JSONValue] { user.claims(scopes: token.scopes) }
}

extension FunctionContext {
    /// Authenticates a /userinfo call. Every failure is a Bearer challenge (401, or 403 without `openid`).
    public func userinfoCaller(_ request: FunctionRequest) async throws -> UserinfoCaller {
        let store = try store()
        let tenant = try await TenantDirectory(store: store).tenant(for: request)
        // During a migration's transition window the old tenant's access tokens are accepted here too (UpstreamKeys).
        let verifier = try await TokenVerifier.load(store, tenant: tenant, for: .userinfo)
        let token = try verifier.verify(AccessToken.bearer(in: request), as: AccessToken.self, at: .userinfo)
        guard token.scopes.contains("openid") else {
            throw BearerChallenge.insufficientScope(
                realm: tenant.issuer, scope: "openid", "The access token was not granted the openid scope.")
        }
        // Tokens from an authorization code die with the code's replay (RFC 6749 §4.1.2); only those are looked up.
        if token.claims["gty"]?.stringValue == "authorization_code", let jti = token.claims["jti"]?.stringValue,
            try await AuthorizationCodes.isRevoked(jti: jti, store: store, tenant: tenant)
        {
            throw BearerChallenge.invalidToken(realm: tenant.issuer, "The access token has been revoked.")
        }
        guard !token.isMachineToMachine, let (user, _) = try await UserDirectory(store: store, tenant: tenant).get(token.subject) else {
            throw BearerChallenge.invalidToken(realm: tenant.issuer, "The token's user does not exist.")
        }
        guard !user.blocked else {
            throw BearerChallenge.invalidToken(realm: tenant.issuer, "The user is blocked.")
        }
        return UserinfoCaller(tenant: tenant, token: token, user: user)
    }
}
