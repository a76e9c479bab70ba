import FoundationEssentials
import GangwayPlatform

/// A kind of token this tenant issues, with the rules that make one acceptable (jwt-kit's `JWTPayload`):
/// the verifier does what every kind shares (published key, RS256, signature, expiry, issuer, audience, `typ`),
/// the kind does the rest on claims that are already trusted.
public protocol VerifiedToken: Sendable {
    /// The JWS `typ` this kind carries: how an access token (`at+jwt`) is told from an ID token (`JWT`).
    static var type: String { get }
    /// Whether the header is judged before the signature or after it.
    static var headerCheck: TokenVerifier.HeaderCheck { get }
    /// The `typ` values accepted on a token signed by one of the old tenant's keys (`UpstreamKeys`), where a door
    /// trusts them. None by default.
    static var upstreamTypes: Set<String> { get }
    /// The kind's own claim rules.
    init(verified claims: [String: JSONValue]) throws(TokenRejection)
}

extension VerifiedToken {
    public static var upstreamTypes: Set<String> { [] }
}

/// Why the verifier refused a token. The door it was presented at words the answer (see `TokenDoor`).
public enum TokenRejection: Error, Sendable, Equatable {
    /// No token was presented.
    case missing
    /// Not a compact JWS at all (found only when the header is judged before the signature).
    case notAJWT(JWTError)
    /// Not RS256 (found only before the signature; after it, `untrusted` reports the algorithm).
    case notRS256
    /// Not this kind of token: its `typ` is another's (an ID token offered as an access token, or the reverse).
    case wrongType
    /// Unknown key, bad signature, expired, another issuer, another audience: `JWT.verify`'s answer.
    case untrusted(JWTError)
    /// No `sub`, or an empty one.
    case noSubject
}

/// The one way a token of this tenant is verified: the tenant's published keys (KeyRing) → RS256 and the signature
/// → `typ` → the registered claims and the audience → the kind's own claim rules. Like jwt-kit's
/// `JWTKeyCollection.verify(_:as:)`: one path, the kind named by its type.
public struct TokenVerifier: Sendable {
    public let ring: KeyRing
    public var tenant: Tenant { ring.tenant }

    public init(ring: KeyRing) { self.ring = ring }

    /// The verifier for the keys `tenant` publishes now; for a door that trusts them, the old tenant's keys too.
    public static func load(_ store: any KeyValueStore, tenant: Tenant, for door: TokenDoor? = nil) async throws -> TokenVerifier {
        TokenVerifier(ring: try await KeyRing.load(store, tenant: tenant, trustingUpstreamKeys: door?.trustsUpstreamKeys ?? false))
    }

    public enum HeaderCheck: Sendable {
        /// After the signature: a forged token is reported as forged whatever it claims to be (API credentials).
        case afterSignature
        /// Before the signature, header and payload decoded: a token of the wrong shape, algorithm or kind is the
        /// caller's mistake, told apart from one that is not trusted (`link_with` answers 400 for one, 401 for the other).
        case beforeSignature
    }

    /// Verifies `token` as a `Token` of this tenant for `audience`.
    public func verify<Token: VerifiedToken>(_ token: String?, as kind: Token.Type, audience: String) throws(TokenRejection) -> Token {
        guard let token else { throw .missing }
        if Token.headerCheck == .beforeSignature {
            let header: [String: JSONValue]
            do {
                header = try JWT.decodeUnverified(token).header
            } catch {
                throw .notAJWT(error)
            }
            guard header["alg"]?.stringValue == "RS256" else { throw .notRS256 }
            guard header["typ"]?.stringValue == Token.type else { throw .wrongType }
        }
        let claims: [String: JSONValue]
        do {
            claims = try ring.verify(token, audience: audience)
        } catch {
            throw .untrusted(error)
        }
        if Token.headerCheck == .afterSignature {
            let header = try? JWT.decodeUnverified(token).header
            let type = header?["typ"]?.stringValue ?? ""
            let upstream = header?["kid"]?.stringValue.map(ring.isUpstream) ?? false
            guard type == Token.type || (upstream && Token.upstreamTypes.contains(type)) else { throw .wrongType }
        }
        return try Token(verified: claims)
    }

    /// Verifies `token` where `door` takes it: the audience is the door's, and a refusal is answered in its words.
    public func verify<Token: VerifiedToken>(_ token: String?, as kind: Token.Type, at door: TokenDoor) throws(HTTPError) -> Token {
        do {
            return try verify(token, as: kind, audience: door.audience(of: tenant))
        } catch {
            throw door.refusal(error, tenant: tenant)
        }
    }
}
