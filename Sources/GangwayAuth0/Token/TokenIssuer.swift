import FoundationEssentials
import GangwayPlatform

/// What a successful grant hands out: for whom, for which API, with which scopes.
public struct TokenGrant: Sendable {
    public var client: Application
    /// `auth0|…` for users, `<client_id>@clients` for client credentials.
    public var subject: String
    /// The user, for user grants (ID token claims); nil for client credentials.
    public var user: User?
    /// The API audience asked for; nil means /userinfo only.
    public var audience: String?
    public var scopes: [String]
    /// The `gty` claim: `password`, `client-credentials`, or `["refresh_token", <original>]`.
    public var gty: JSONValue
    public var nonce: String?
    public var authTime: Int64?
    /// The API's `token_lifetime` (seconds); nil: the tenant's `accessTokenLifetime`. `TokenEndpoint.issue` sets it.
    public var accessTokenLifetime: Int?
    /// The browser session's `sid` (logins through /authorize), for the ID token.
    public var sid: String?
    /// The access token's `jti` when the caller must know it (a code exchange records it, to revoke on reuse).
    public var tokenId: String?

    public init(
        client: Application, subject: String, user: User?, audience: String?, scopes: [String], gty: JSONValue,
        nonce: String? = nil, authTime: Int64? = nil
    ) {
        self.client = client
        self.subject = subject
        self.user = user
        self.audience = audience
        self.scopes = scopes
        self.gty = gty
        self.nonce = nonce
        self.authTime = authTime
    }
}

/// Mints the tokens of a grant: an RS256 access token typed `at+jwt` (the only type the Management API and
/// /userinfo accept), an ID token typed `JWT` when `openid` was granted, and the response Auth0's SDKs read.
public struct TokenIssuer: Sendable {
    public let ring: KeyRing
    public var tenant: Tenant { ring.tenant }

    public init(ring: KeyRing) { self.ring = ring }

    /// `aud` of an access token: the API, plus `<issuer>userinfo` when `openid` is granted; /userinfo alone without an API.
    public func accessTokenAudience(_ grant: TokenGrant) -> JSONValue {
        guard let audience = grant.audience else { return .string(tenant.userinfoAudience) }
        if grant.user != nil, grant.scopes.contains("openid"), audience != tenant.userinfoAudience {
            return [.string(audience), .string(tenant.userinfoAudience)]
        }
        return .string(audience)
    }

    /// Seconds an access token of `grant` lives: its API's `token_lifetime`, else the tenant's setting.
    public func accessTokenLifetime(_ grant: TokenGrant) -> Int64 {
        Int64(grant.accessTokenLifetime ?? tenant.settings.accessTokenLifetime)
    }

    public func accessToken(_ grant: TokenGrant, now: Int64) throws -> String {
        let claims: [String: JSONValue] = [
            "iss": .string(tenant.issuer), "sub": .string(grant.subject), "aud": accessTokenAudience(grant),
            "azp": .string(grant.client.clientId), "scope": .string(Scopes.string(grant.scopes)),
            "iat": .int(now), "exp": .int(now + accessTokenLifetime(grant)),
            "jti": .string(grant.tokenId ?? Random.token(bytes: 16)), "gty": grant.gty,
        ]
        return try ring.sign(claims, type: AccessToken.type)
    }

    /// OIDC Core §3.1.3.6: the left half of the access token's SHA-256, base64url (RS256).
    public static func atHash(_ accessToken: String) -> String { Base64URL.encode(Digest.sha256(accessToken).prefix(16)) }

    /// `accessToken`: the one /authorize issues beside it in the implicit flow, whose `at_hash` it then carries
    /// (OIDC Core §3.2.2.10); token endpoint answers leave it out, as Auth0's do.
    public func idToken(_ grant: TokenGrant, user: User, now: Int64, accessToken: String? = nil) throws -> String {
        var claims = user.claims(scopes: Set(grant.scopes))
        claims["iss"] = .string(tenant.issuer)
        claims["aud"] = .string(grant.client.clientId)
        claims["azp"] = .string(grant.client.clientId)
        claims["iat"] = .int(now)
        // The application's jwt_configuration.lifetime_in_seconds, else the tenant's.
        claims["exp"] = .int(now + Int64(grant.client.idTokenLifetime ?? tenant.settings.idTokenLifetime))
        if let authTime = grant.authTime { claims["auth_time"] = .int(authTime) }
        if let nonce = grant.nonce { claims["nonce"] = .string(nonce) }
        if let sid = grant.sid { claims["sid"] = .string(sid) }
        if let accessToken { claims["at_hash"] = .string(Self.atHash(accessToken)) }
        return try ring.sign(claims, type: "JWT")
    }

    /// `{access_token, token_type, expires_in, scope, id_token?, refresh_token?}`.
    public func response(_ grant: TokenGrant, refreshToken: String?) throws -> [String: JSONValue] {
        let now = Int64(Date.now.timeIntervalSince1970)
        let access = try accessToken(grant, now: now)
        var body: [String: JSONValue] = [
            "access_token": .string(access), "token_type": "Bearer",
            "expires_in": .int(accessTokenLifetime(grant)), "scope": .string(Scopes.string(grant.scopes)),
        ]
        if let user = grant.user, grant.scopes.contains("openid") {
            body["id_token"] = .string(try idToken(grant, user: user, now: now))
        }
        if let refreshToken { body["refresh_token"] = .string(refreshToken) }
        return body
    }
}

/// Which scopes a grant gets.
public enum ScopePolicy {
    /// A user grant: OIDC scopes plus the scopes the API defines. At the Management API a user's token may only
    /// carry the `*:current_user*` scopes; every other Management API scope is dropped. Nothing requested means
    /// `openid profile email` plus everything the API allows (Auth0: "implied trust" in this grant).
    /// `offline_access` only for applications allowed the refresh_token grant, and at an API only when the API
    /// has `allow_offline_access` (without it: no refresh token, as Auth0).
    public static func user(requested: [String]?, api: ResourceServer?, tenant: Tenant, client: Application) -> [String] {
        var apiScopes = api?.scopeValues ?? []
        if api?.identifier == tenant.managementAudience { apiScopes = apiScopes.filter { $0.contains("current_user") } }
        let offline = client.grantTypes.contains(.refreshToken) && (api?.allowOfflineAccess ?? true)
        let wanted = requested ?? (["openid", "profile", "email"] + apiScopes)
        return wanted.filter {
            ($0 == "offline_access" ? offline : Scopes.oidc.contains($0)) || apiScopes.contains($0)
        }
    }

    /// Client credentials: what the client grant allows (and the API still defines); when scopes are requested,
    /// only those of them.
    public static func client(requested: [String]?, clientGrant: ClientGrant, api: ResourceServer) -> [String] {
        let allowed = clientGrant.scope.filter { api.scopeValues.contains($0) }
        guard let requested else { return allowed }
        return requested.filter { allowed.contains($0) }
    }
}
