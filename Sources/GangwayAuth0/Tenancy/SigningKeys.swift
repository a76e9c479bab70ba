import FoundationEssentials
import GangwayPlatform

/// A tenant's RS256 keys. The `current` key signs; `previous` keys stay in the JWKS so tokens they
/// signed keep verifying until an operator retires them (`gangway keys rotate` / `gangway keys retire`).
public struct SigningKeySet: Codable, Sendable {
    public var keys: [SigningKey]

    public struct SigningKey: Codable, Sendable {
        public enum State: String, Codable, Sendable { case current, previous }
        public var kid: String
        public var state: State
        /// PKCS#8 PEM. Only the token-issuing functions read it; JWKS answers use `publicJWK`.
        public var privateKeyPEM: String
        public var publicJWK: JWK
        public var createdAt: Date
    }

    public init(keys: [SigningKey] = []) { self.keys = keys }

    public var current: SigningKey? { keys.first { $0.state == .current } }

    /// Every key still published: current first, then previous ones, newest first.
    public var jwks: JWKS {
        let previous = keys.filter { $0.state == .previous }.sorted { $0.createdAt > $1.createdAt }
        return JWKS(keys: (keys.filter { $0.state == .current } + previous).map(\.publicJWK))
    }

    /// A new key becomes current; the old current key becomes previous.
    public static func newKey() throws -> SigningKey {
        let key = try RSAKey.generate(bits: 2048)
        let kid = Random.token(bytes: 12)
        return SigningKey(kid: kid, state: .current, privateKeyPEM: key.privateKeyPEM, publicJWK: key.publicJWK(kid: kid), createdAt: .now)
    }

    public mutating func rotate() throws -> SigningKey {
        for i in keys.indices where keys[i].state == .current { keys[i].state = .previous }
        let key = try Self.newKey()
        keys.append(key)
        return key
    }

    /// Drops previous keys (all, or the one named) from the set; the current key cannot be retired.
    public mutating func retire(kid: String?) -> [String] {
        let gone = keys.filter { $0.state == .previous && (kid == nil || $0.kid == kid) }.map(\.kid)
        keys.removeAll { gone.contains($0.kid) }
        return gone
    }
}
