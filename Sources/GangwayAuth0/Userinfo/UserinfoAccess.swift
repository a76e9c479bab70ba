import FoundationEssentials
import GangwayPlatform

/// RFC 6750 §3 errors for a protected resource: the status, a `WWW-Authenticate: Bearer` challenge and a JSON body.
public enum BearerChallenge {
    /// No credentials at all: the challenge names only the realm (RFC 6750 §3.1 says no error code then).
    public static func missing(realm: String) -> HTTPError {
        HTTPError(401, "invalid_request", "Missing access token.", headers: ["www-authenticate": "Bearer realm=\"\(quoted(realm))\""])
    }

    /// A token that is malformed, expired, foreign, not an access token, or whose user is gone or blocked.
    public static func invalidToken(realm: String, _ description: String) -> HTTPError {
        HTTPError(
            401, "invalid_token", description,
            headers: ["www-authenticate": "Bearer realm=\"\(quoted(realm))\", error=\"invalid_token\", error_description=\"\(quoted(description))\""]
        )
    }

    /// A valid token without the scope the resource needs (403, RFC 6750 §3.1).
    public static func insufficientScope(realm: String, scope: String, _ description: String) -> HTTPError {
        HTTPError(
            403, "insufficient_scope", description,
            headers: [
                "www-authenticate":
                    "Bearer realm=\"\(quoted(realm))\", error=\"insufficient_scope\", error_description=\"\(quoted(description))\", scope=\"\(quoted(scope))\""
            ]
        )
    }

    /// Header quoted-strings may not carry `"` or `\` (RFC 6750 restricts error_description to %x20-21 / %x23-5B / %x5D-7E).
    static func quoted(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value <= 0x7E && $0 != "\"" && $0 != "\\" }.map(Character.init))
    }
}

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
        let ring = try await KeyRing.load(store, tenant: tenant)
        let token: AccessToken
        do {
            token = try AccessToken.verify(AccessToken.bearer(in: request), ring: ring, audience: tenant.userinfoAudience)
        } catch .missing {
            throw BearerChallenge.missing(realm: tenant.issuer)
        } catch .invalid(let why) {
            throw BearerChallenge.invalidToken(realm: tenant.issuer, why)
        }
        guard token.scopes.contains("openid") else {
            throw BearerChallenge.insufficientScope(realm: tenant.issuer, scope: "openid", "The access token was not granted the openid scope.")
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
