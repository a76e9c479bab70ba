import FoundationEssentials
import GangwayPlatform
import Synchronization

/// A tenant's signing keys, ready to sign with the current key and to verify against every published key.
/// Private keys are opened (SecretBox) and parsed lazily: a cold function pays only for the key it uses, and a
/// warm worker does it once per key for its whole life (parsing and RSA blinding set-up cost more than the
/// signature itself). Verification uses the published public keys only, so it needs no secret.
public final class KeyRing: Sendable {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The tenant has no current key to sign with (its key set was emptied by hand).
        case noSigningKey
        /// The current key is sealed and this process has no GANGWAY_SECRET_KEY, or another one.
        case sealedKey(String)

        public var description: String {
            switch self {
            case .noSigningKey: "The tenant has no signing key."
            case .sealedKey(let kid):
                "The signing key \(kid) cannot be opened: GANGWAY_SECRET_KEY is missing or is not the key it was sealed with."
            }
        }
    }

    public let tenant: Tenant
    public let keySet: SigningKeySet
    /// Opens sealed private keys; nil where only verification is needed.
    let secrets: SecretBox?
    /// The old tenant's public keys still open (`UpstreamKeys`): verify-only, loaded only for the doors that trust them.
    public let upstream: [JWK]

    /// Parsed private keys of this process, by kid; the stored form and the opening key are kept to notice a kid
    /// whose key changed, or a ring that may not open it.
    private static let parsed = Mutex<[String: (stored: String, key: RSAKey)]>([:])
    /// Parsed public keys of this process, by kid and modulus.
    private static let published = Mutex<[String: (modulus: String, key: RSAKey)]>([:])

    public init(tenant: Tenant, keySet: SigningKeySet, secrets: SecretBox? = nil, upstream: [JWK] = []) {
        self.tenant = tenant
        self.keySet = keySet
        self.secrets = secrets
        self.upstream = upstream
    }

    /// The tenant's keys; `secrets` opens the private ones (needed to sign, not to verify). With
    /// `trustingUpstreamKeys`, the old tenant's keys open now verify too (never sign).
    public static func load(
        _ store: any KeyValueStore, tenant: Tenant, secrets: SecretBox? = nil, trustingUpstreamKeys: Bool = false
    ) async throws -> KeyRing {
        let set = try await store.getCachedJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0 ?? SigningKeySet()
        var upstream: [JWK] = []
        if trustingUpstreamKeys {
            upstream = try await store.getCachedJSON(UpstreamKeys.self, StoreKeys.upstreamKeys(tenant.id))?.0.open() ?? []
        }
        return KeyRing(tenant: tenant, keySet: set, secrets: secrets, upstream: upstream)
    }

    /// True when `kid` names one of the old tenant's keys this ring trusts (and none of the tenant's own).
    public func isUpstream(_ kid: String) -> Bool {
        !keySet.keys.contains { $0.kid == kid } && upstream.contains { $0.kid == kid }
    }

    /// The SecretBox context of a private key: a sealed key copied to another tenant or kid does not open.
    public static func sealingContext(tenant: String, kid: String) -> String { StoreKeys.signingKeys(tenant) + "#" + kid }

    /// How `secrets` seals a private key of `tenant`'s set.
    public static func sealer(_ secrets: SecretBox, tenant: String) -> SigningKeySet.Sealer {
        { kid, pem in try secrets.seal(pem, context: sealingContext(tenant: tenant, kid: kid)) }
    }

    /// Changes the key set with compare-and-swap, retrying if another writer got there first. The change gets
    /// the sealer for new keys, and any key still in plain PEM is sealed on the way.
    public static func update<T>(
        _ store: any KeyValueStore, tenant: Tenant, secrets: SecretBox,
        _ change: (inout SigningKeySet, SigningKeySet.Sealer) throws -> T
    ) async throws -> T {
        let seal = sealer(secrets, tenant: tenant.id)
        return try await store.update(SigningKeySet.self, at: StoreKeys.signingKeys(tenant.id)) { stored in
            var set = stored ?? SigningKeySet()
            defer { stored = set }
            let result = try change(&set, seal)
            try set.sealPlainKeys(with: seal)
            return result
        }
    }

    private func privateKey(_ entry: SigningKeySet.SigningKey) throws(Failure) -> RSAKey {
        // A sealed key is used only by a ring holding the key it was sealed with, even when this process
        // opened it before under that key.
        let opener = entry.sealedPrivateKey == nil ? "plain" : secrets?.keyID ?? ""
        let stored = (entry.sealedPrivateKey ?? entry.privateKeyPEM ?? "") + "|" + opener
        if let cached = Self.parsed.withLock({ $0[entry.kid] }), cached.stored == stored { return cached.key }
        var pem = entry.privateKeyPEM ?? ""
        if let sealed = entry.sealedPrivateKey {
            guard let secrets, let opened = try? secrets.open(sealed, context: Self.sealingContext(tenant: tenant.id, kid: entry.kid))
            else { throw .sealedKey(entry.kid) }
            pem = opened
        }
        guard let key = try? RSAKey(privateKeyPEM: pem) else { throw .sealedKey(entry.kid) }
        Self.parsed.withLock { $0[entry.kid] = (stored, key) }
        return key
    }

    private func publicKey(_ kid: String) -> RSAKey? {
        guard let jwk = keySet.keys.first(where: { $0.kid == kid })?.publicJWK ?? upstream.first(where: { $0.kid == kid }) else {
            return nil
        }
        if let cached = Self.published.withLock({ $0[kid] }), cached.modulus == jwk.n { return cached.key }
        guard let key = try? RSAKey(jwk: jwk) else { return nil }
        Self.published.withLock { $0[kid] = (jwk.n, key) }
        return key
    }

    /// Signs claims with the current key (RS256, `kid` in the header; `type` "at+jwt" for access tokens).
    public func sign(_ claims: [String: JSONValue], type: String = "JWT") throws -> String {
        guard let current = keySet.current else { throw Failure.noSigningKey }
        return try JWT.sign(claims: claims, key: try privateKey(current), kid: current.kid, type: type)
    }

    /// Verifies a token issued by this tenant: RS256, a published `kid` (or a trusted upstream one), `iss` = our
    /// issuer, unexpired.
    public func verify(_ token: String, audience: String?, now: Int64 = Int64(Date.now.timeIntervalSince1970)) throws(JWTError) -> [String:
        JSONValue]
    {
        try JWT.verify(token, keys: { self.publicKey($0) }, issuer: tenant.issuer, audience: audience, now: now)
    }
}
