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
        /// The PKCS#8 PEM sealed with `GANGWAY_SECRET_KEY` (SecretBox; the context binds it to this tenant and
        /// kid): a copy of the store alone signs nothing. Only the token-issuing functions open it.
        public var sealedPrivateKey: String?
        /// Plain PEM, as stores made before sealing keep it: still used to sign, and sealed by the next
        /// change to the key set (`gangway keys rotate`, `retire`, `seal`).
        public var privateKeyPEM: String?
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

    /// How a private key is sealed for the set it belongs to.
    public typealias Sealer = (_ kid: String, _ pem: String) throws -> String

    /// A new current key, its private part sealed by `seal`.
    public static func newKey(sealedWith seal: Sealer) throws -> SigningKey {
        let key = try RSAKey.generate(bits: 2048)
        let kid = Random.token(bytes: 12)
        return SigningKey(
            kid: kid, state: .current, sealedPrivateKey: try seal(kid, key.privateKeyPEM), privateKeyPEM: nil,
            publicJWK: key.publicJWK(kid: kid), createdAt: .now)
    }

    /// A new key becomes current; the old current key becomes previous.
    public mutating func rotate(sealedWith seal: Sealer) throws -> SigningKey {
        for i in keys.indices where keys[i].state == .current { keys[i].state = .previous }
        let key = try Self.newKey(sealedWith: seal)
        keys.append(key)
        return key
    }

    /// Seals every key still kept in plain PEM; returns their kids.
    @discardableResult
    public mutating func sealPlainKeys(with seal: Sealer) throws -> [String] {
        var sealed: [String] = []
        for i in keys.indices {
            guard let pem = keys[i].privateKeyPEM else { continue }
            keys[i].sealedPrivateKey = try seal(keys[i].kid, pem)
            keys[i].privateKeyPEM = nil
            sealed.append(keys[i].kid)
        }
        return sealed
    }

    /// Drops previous keys (all, or the one named) from the set; the current key cannot be retired.
    public mutating func retire(kid: String?) -> [String] {
        let gone = keys.filter { $0.state == .previous && (kid == nil || $0.kid == kid) }.map(\.kid)
        keys.removeAll { gone.contains($0.kid) }
        return gone
    }
}
