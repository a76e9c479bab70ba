import FoundationEssentials
import GangwayPlatform

/// A verified access token: who it speaks for, for which API, with which scopes.
public struct AccessToken: Sendable {
    public static let type = "at+jwt"

    public let claims: [String: JSONValue]
    public var subject: String { claims["sub"]?.stringValue ?? "" }
    /// The application the token was issued to.
    public var clientId: String? { claims["azp"]?.stringValue ?? claims["client_id"]?.stringValue }
    public var scopes: Set<String> { Set((claims["scope"]?.stringValue ?? "").split(separator: " ").map(String.init)) }
    public var audiences: [String] {
        if let one = claims["aud"]?.stringValue { return [one] }
        return claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }
    /// True for client-credentials tokens (`sub` = `<client_id>@clients`).
    public var isMachineToMachine: Bool { claims["gty"]?.stringValue == "client-credentials" }

    /// The bearer token in an `Authorization` header, if there is one.
    public static func bearer(in request: FunctionRequest) -> String? {
        guard let header = request.header("authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingPrefix(while: { $0 == " " })
        return token.isEmpty ? nil : String(token)
    }
}

/// Only tokens typed `at+jwt` are API credentials, whatever their claims: ID tokens are refused. The type is judged
/// after the signature, so a forged token is always answered as forged.
extension AccessToken: VerifiedToken {
    public static let headerCheck = TokenVerifier.HeaderCheck.afterSignature
    /// Auth0 types its access tokens `JWT` (`at+jwt` only with its RFC 9068 profile), so the old tenant's
    /// tokens are told from its ID tokens by their audience, as Auth0's own /userinfo does.
    public static let upstreamTypes: Set<String> = ["JWT", "at+jwt"]

    public init(verified claims: [String: JSONValue]) throws(TokenRejection) {
        guard claims["sub"]?.stringValue?.isEmpty == false else { throw .noSubject }
        self.init(claims: claims)
    }

    /// Verifies a bearer token as an access token of `ring`'s tenant for `audience` (for callers holding a ring).
    public static func verify(_ token: String?, ring: KeyRing, audience: String) throws(TokenRejection) -> AccessToken {
        try TokenVerifier(ring: ring).verify(token, as: AccessToken.self, audience: audience)
    }
}

extension String.SubSequence {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring { self.drop(while: predicate) }
}
