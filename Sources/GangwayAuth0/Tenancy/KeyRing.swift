import FoundationEssentials
import GangwayPlatform
import Synchronization

/// A tenant's signing keys, ready to sign with the current key and to verify against every published key.
/// Private keys are parsed lazily: a cold function pays only for the key it uses, and a warm worker parses
/// each key once for its whole life (parsing and RSA blinding set-up cost more than the signature itself).
public final class KeyRing: Sendable {
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The tenant has no current key to sign with (its key set was emptied by hand).
        case noSigningKey

        public var description: String { "The tenant has no signing key." }
    }

    public let tenant: Tenant
    public let keySet: SigningKeySet

    /// Parsed keys of this process, by kid; the PEM is kept to notice a kid whose key changed.
    private static let parsed = Mutex<[String: (pem: String, key: RSAKey)]>([:])

    public init(tenant: Tenant, keySet: SigningKeySet) {
        self.tenant = tenant
        self.keySet = keySet
    }

    public static func load(_ store: any KeyValueStore, tenant: Tenant) async throws -> KeyRing {
        let set = try await store.getCachedJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0 ?? SigningKeySet()
        return KeyRing(tenant: tenant, keySet: set)
    }

    /// Changes the key set with compare-and-swap, retrying if another writer got there first.
    public static func update<T>(
        _ store: any KeyValueStore, tenant: Tenant, _ change: (inout SigningKeySet) throws -> T
    ) async throws -> T {
        try await store.update(SigningKeySet.self, at: StoreKeys.signingKeys(tenant.id)) { stored in
            var set = stored ?? SigningKeySet()
            defer { stored = set }
            return try change(&set)
        }
    }

    private func key(_ kid: String) -> RSAKey? {
        guard let entry = keySet.keys.first(where: { $0.kid == kid }) else { return nil }
        return Self.parsed.withLock { cache in
            if let cached = cache[kid], cached.pem == entry.privateKeyPEM { return cached.key }
            guard let key = try? RSAKey(privateKeyPEM: entry.privateKeyPEM) else { return nil }
            cache[kid] = (entry.privateKeyPEM, key)
            return key
        }
    }

    /// Signs claims with the current key (RS256, `kid` in the header; `type` "at+jwt" for access tokens).
    public func sign(_ claims: [String: JSONValue], type: String = "JWT") throws -> String {
        guard let current = keySet.current, let key = key(current.kid) else {
            throw Failure.noSigningKey
        }
        return try JWT.sign(claims: claims, key: key, kid: current.kid, type: type)
    }

    /// Verifies a token issued by this tenant: RS256, a published `kid`, `iss` = our issuer, unexpired.
    public func verify(_ token: String, audience: String?, now: Int64 = Int64(Date.now.timeIntervalSince1970)) throws(JWTError) -> [String:
        JSONValue]
    {
        try JWT.verify(token, keys: { self.key($0) }, issuer: tenant.issuer, audience: audience, now: now)
    }
}
