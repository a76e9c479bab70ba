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

    public enum Failure: Error, Sendable, Equatable {
        case missing
        /// Signature, expiry, issuer, audience, or not an access token at all (an ID token); the message says which.
        case invalid(String)
    }

    /// Verifies a bearer token as an access token of this tenant for `audience`.
    /// ID tokens are refused whatever their claims: only tokens typed `at+jwt` are API credentials.
    public static func verify(_ token: String?, ring: KeyRing, audience: String) throws(Failure) -> AccessToken {
        guard let token else { throw .missing }
        let claims: [String: JSONValue]
        do {
            claims = try ring.verify(token, audience: audience)
        } catch {
            throw .invalid(error.message)
        }
        guard (try? JWT.decodeUnverified(token).header["typ"]?.stringValue) == type else {
            throw .invalid("Only access tokens are accepted; ID tokens are not API credentials.")
        }
        guard claims["sub"]?.stringValue?.isEmpty == false else { throw .invalid("The token has no subject.") }
        return AccessToken(claims: claims)
    }
}

extension String.SubSequence {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring { self.drop(while: predicate) }
}
