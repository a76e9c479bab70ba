import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// Signing keys at rest: sealed with GANGWAY_SECRET_KEY, so a copy of the store alone signs nothing.
@Suite("Signing keys are sealed at rest")
struct SigningKeySealingTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-keys-" + UUID().uuidString).path

    func tenant(_ store: any KeyValueStore, _ box: SecretBox) async throws -> Tenant {
        let result = try await Provisioning(store: store, secrets: box).initialize(
            issuer: "https://keys-\(UUID().uuidString.prefix(6)).test/")
        return try #require(try await store.getJSON(Tenant.self, StoreKeys.tenant(result.tenant))?.0)
    }

    @Test("a new tenant's private key is stored sealed; signing needs the secret key, verifying does not")
    func newKeysAreSealed() async throws {
        let store = try Store.open(url: "sqlite:\(directory)/a.db")
        let box = try SecretBox(key: Random.bytes(32))
        let tenant = try await tenant(store, box)
        let raw = try #require(try await store.get(StoreKeys.signingKeys(tenant.id)))
        let text = String(decoding: raw.value, as: UTF8.self)
        #expect(!text.contains("PRIVATE KEY") && !text.contains("privateKeyPEM"))
        let key = try #require(try await store.getJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0.current)
        #expect(key.sealedPrivateKey.map(SecretBox.isSealed) == true && key.privateKeyPEM == nil)

        let token = try await KeyRing.load(store, tenant: tenant, secrets: box).sign([
            "sub": "a", "exp": 4_000_000_000, "iss": .string(tenant.issuer),
        ])
        #expect(try await KeyRing.load(store, tenant: tenant).verify(token, audience: nil)["sub"] == "a")
        await #expect(throws: KeyRing.Failure.sealedKey(key.kid)) {
            try await KeyRing.load(store, tenant: tenant).sign(["sub": "a"])
        }
        await #expect(throws: KeyRing.Failure.sealedKey(key.kid)) {
            try await KeyRing.load(store, tenant: tenant, secrets: try SecretBox(key: Random.bytes(32))).sign(["sub": "a"])
        }
    }

    @Test("a sealed key copied to another tenant does not open there")
    func sealBoundToTenantAndKid() async throws {
        let store = try Store.open(url: "sqlite:\(directory)/b.db")
        let box = try SecretBox(key: Random.bytes(32))
        let first = try await tenant(store, box)
        let second = try await tenant(store, box)
        let stolen = try #require(try await store.getJSON(SigningKeySet.self, StoreKeys.signingKeys(first.id))?.0)
        try await store.putJSON(StoreKeys.signingKeys(second.id), stolen)
        let kid = try #require(stolen.current?.kid)
        await #expect(throws: KeyRing.Failure.sealedKey(kid)) {
            try await KeyRing.load(store, tenant: second, secrets: box).sign(["sub": "a"])
        }
    }

    @Test("a plain PEM key from before sealing still signs, and the next key-set change seals it")
    func legacyPlainKeysAreSealedOnUpdate() async throws {
        let store = try Store.open(url: "sqlite:\(directory)/c.db")
        let box = try SecretBox(key: Random.bytes(32))
        let tenant = try await tenant(store, box)
        let rsa = try RSAKey.generate(bits: 2048)
        let legacy = SigningKeySet.SigningKey(
            kid: "legacy", state: .current, sealedPrivateKey: nil, privateKeyPEM: rsa.privateKeyPEM,
            publicJWK: rsa.publicJWK(kid: "legacy"), createdAt: .now)
        try await store.putJSON(StoreKeys.signingKeys(tenant.id), SigningKeySet(keys: [legacy]))
        let token = try await KeyRing.load(store, tenant: tenant).sign(["sub": "b", "exp": 4_000_000_000, "iss": .string(tenant.issuer)])
        #expect(try await KeyRing.load(store, tenant: tenant).verify(token, audience: nil)["sub"] == "b")

        // Any change seals what is still plain (here: retiring nothing, as `gangway keys retire` would).
        _ = try await KeyRing.update(store, tenant: tenant, secrets: box) { set, _ in set.retire(kid: "none") }
        let stored = try #require(try await store.getJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0.current)
        #expect(stored.privateKeyPEM == nil && stored.sealedPrivateKey.map(SecretBox.isSealed) == true)
        let again = try await KeyRing.load(store, tenant: tenant, secrets: box).sign([
            "sub": "c", "exp": 4_000_000_000, "iss": .string(tenant.issuer),
        ])
        #expect(try await KeyRing.load(store, tenant: tenant).verify(again, audience: nil)["sub"] == "c")
        await #expect(throws: KeyRing.Failure.sealedKey("legacy")) { try await KeyRing.load(store, tenant: tenant).sign(["sub": "d"]) }
    }
}
