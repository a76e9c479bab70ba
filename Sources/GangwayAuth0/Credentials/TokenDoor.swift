import FoundationEssentials
import GangwayPlatform

/// Where a token is presented: it decides the audience the token must carry and how a refusal is answered.
/// This is the one place verifier failures become HTTP answers; each door keeps the words its clients know.
public enum TokenDoor: Sendable {
    /// `Authorization: Bearer` at the Management API: an access token for `<issuer>api/v2/`.
    case managementAPI
    /// `Authorization: Bearer` at /userinfo: an access token for `<issuer>userinfo`; RFC 6750 challenges.
    case userinfo
    /// The `link_with` field of account linking: an ID token whose `aud` is the `azp` of the access token sending it.
    case linkWith(azp: String)

    /// Whether tokens signed by the old tenant's keys (`UpstreamKeys`, until the transition deadline) are accepted:
    /// only at /userinfo, which SPAs call right after the cutover with the token the old tenant gave them. The
    /// Management API and `link_with` never accept them.
    public var trustsUpstreamKeys: Bool {
        if case .userinfo = self { true } else { false }
    }

    public func audience(of tenant: Tenant) -> String {
        switch self {
        case .managementAPI: tenant.managementAudience
        case .userinfo: tenant.userinfoAudience
        case .linkWith(let azp): azp
        }
    }

    public func refusal(_ rejection: TokenRejection, tenant: Tenant) -> HTTPError {
        switch self {
        case .managementAPI:
            guard rejection != .missing else { return HTTPError(401, "unauthorized", "Missing authentication") }
            return HTTPError(401, "invalid_token", "Invalid token: \(Self.accessTokenReason(rejection))")
        case .userinfo:
            guard rejection != .missing else { return BearerChallenge.missing(realm: tenant.issuer) }
            return BearerChallenge.invalidToken(realm: tenant.issuer, Self.accessTokenReason(rejection))
        case .linkWith(let azp):
            return Self.linkWithRefusal(rejection, azp: azp)
        }
    }

    /// Why an access token was refused, as both bearer doors say it.
    static func accessTokenReason(_ rejection: TokenRejection) -> String {
        switch rejection {
        case .missing: "Missing authentication"
        case .notAJWT(let error), .untrusted(let error): error.message
        case .notRS256: "token alg is not RS256"
        case .wrongType: "Only access tokens are accepted; ID tokens are not API credentials."
        case .noSubject: "The token has no subject."
        }
    }

    /// `link_with`: 400 when the token is of the wrong shape or kind, 401 when it is not trusted; each names its rule.
    static func linkWithRefusal(_ rejection: TokenRejection, azp: String) -> HTTPError {
        switch rejection {
        // Never reached: a request without link_with is refused by the payload rules before any verification.
        case .missing: IdentityLinking.linkError(400, "not a JWT (no token)")
        case .notAJWT(let error): IdentityLinking.linkError(400, "not a JWT (\(error.message))")
        case .notRS256: IdentityLinking.linkError(400, "the ID token must be signed with RS256")
        case .wrongType: IdentityLinking.linkError(400, "must be an ID token (typ JWT); an access token (typ at+jwt) is not accepted")
        case .noSubject: IdentityLinking.linkError(400, "the ID token has no sub")
        case .untrusted(let error): IdentityLinking.linkError(401, untrustedIDTokenRule(error, azp: azp))
        }
    }

    /// The rule an untrusted ID token broke, in words that tell the caller what to fix.
    static func untrustedIDTokenRule(_ error: JWTError, azp: String) -> String {
        switch error.code {
        case .wrongAudience: "the ID token's aud must equal the azp of the access token making the request (\(azp))"
        case .expired: "the ID token has expired"
        case .unknownKey: "the ID token is not signed with a current signing key of this tenant"
        case .badSignature: "the ID token's signature is invalid"
        case .wrongIssuer: "the ID token was not issued by this tenant"
        default: error.message
        }
    }
}

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
            headers: [
                "www-authenticate":
                    "Bearer realm=\"\(quoted(realm))\", error=\"invalid_token\", error_description=\"\(quoted(description))\""
            ]
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
