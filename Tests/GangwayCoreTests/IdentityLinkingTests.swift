import Foundation
import Synchronization
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// Account linking's atomicity: a failure half-way leaves both users as they were; racing links of one secondary
/// to different primaries: exactly one wins.
@Suite("IdentityLinking")
struct IdentityLinkingTests {
    /// A store whose compare-and-swap fails (throws) on one chosen key.
    final class FlakyStore: KeyValueStore {
        let inner: any KeyValueStore
        let failing = Mutex<String?>(nil)
        init(_ inner: any KeyValueStore) { self.inner = inner }

        func get(_ key: String) async throws -> StoreRecord? { try await inner.get(key) }
        func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 { try await inner.put(key, value, ttl: ttl) }
        func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
            try await inner.insertIfAbsent(key, value, ttl: ttl)
        }
        func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
            if failing.withLock({ $0 == key }) { throw StoreError(.unavailable, "injected failure") }
            return try await inner.compareAndSwap(key, expectedVersion: expectedVersion, value, ttl: ttl)
        }
        func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
            try await inner.delete(key, expectedVersion: expectedVersion)
        }
        func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
            try await inner.list(prefix: prefix, after: after, limit: limit)
        }
        func purgeExpired() async throws -> Int { try await inner.purgeExpired() }
        /// A batch that would compare-and-swap the failing key fails as a whole (nothing written).
        func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
            let key = failing.withLock { $0 }
            if operations.contains(where: { if case .compareAndSwap = $0 { $0.key == key } else { false } }) {
                throw StoreError(.unavailable, "injected failure")
            }
            return try await inner.commit(operations)
        }
    }

    static func setUp() async throws -> (ManagementCall, FlakyStore, [User]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-link-\(UUID().uuidString)").path
        let store = FlakyStore(try Store.open(url: "sqlite://" + dir + "/kv.db"))
        let tenant = Tenant(
            id: "ten_link", issuer: "https://link.test/", domains: ["link.test"], defaultConnection: "db",
            settings: .init(), createdAt: .now
        )
        let token = AccessToken(claims: ["sub": "m2m@clients", "azp": "m2m", "scope": "update:users"])
        let call = ManagementCall(
            tenant: tenant, token: token, store: store, log: TenantLog(store: store, tenant: tenant, logger: Log.logger("test")))
        var users: [User] = []
        for i in 0..<3 {
            let user = User(connection: "db", email: "u\(i)@link.test")
            try await call.users.create(user)
            users.append(user)
        }
        return (call, store, users)
    }

    @Test("a failed write to the primary releases the secondary's claim")
    func linkRollsBack() async throws {
        let (call, store, users) = try await Self.setUp()
        let (p, s) = (users[0], users[1])
        store.failing.withLock { $0 = call.users.recordKey(p.userId) }
        await #expect(throws: (any Error).self) {
            try await call.link(primaryId: p.userId, .userId(s.userId, connectionId: nil))
        }
        #expect(try await call.users.get(s.userId)?.0.linkedTo == nil)
        #expect(try await call.users.get(p.userId)?.0.identities.count == 1)

        store.failing.withLock { $0 = nil }
        let linked = try await call.link(primaryId: p.userId, .userId(s.userId, connectionId: nil))
        #expect(linked.identities.count == 2)
        #expect(try await call.users.get(s.userId)?.0.linkedTo == p.userId)
    }

    @Test("a failed release of the secondary puts the identity back on the primary")
    func unlinkRollsBack() async throws {
        let (call, store, users) = try await Self.setUp()
        let (p, s) = (users[0], users[1])
        _ = try await call.link(primaryId: p.userId, .userId(s.userId, connectionId: nil))
        store.failing.withLock { $0 = call.users.recordKey(s.userId) }
        let short = String(s.userId.dropFirst("auth0|".count))
        await #expect(throws: (any Error).self) {
            try await call.unlink(primaryId: p.userId, provider: "auth0", userId: short)
        }
        #expect(try await call.users.get(p.userId)?.0.identities.map(\.userId) == [p.identities[0].userId, short])
        #expect(try await call.users.get(s.userId)?.0.linkedTo == p.userId)

        store.failing.withLock { $0 = nil }
        let after = try await call.unlink(primaryId: p.userId, provider: "auth0", userId: short)
        #expect(after.identities.count == 1)
        #expect(try await call.users.get(s.userId)?.0.linkedTo == nil)
    }

    @Test("two concurrent links of one secondary to different primaries: exactly one wins")
    func racingLinks() async throws {
        for _ in 0..<10 {
            let (call, _, users) = try await Self.setUp()
            let s = users[2]
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for p in users[0...1] {
                    group.addTask { (try? await call.link(primaryId: p.userId, .userId(s.userId, connectionId: nil))) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            let owner = try #require(try await call.users.get(s.userId)?.0.linkedTo)
            let listing = try await [users[0], users[1]].asyncFilter { try await call.users.get($0.userId)?.0.identities.count == 2 }
            #expect(listing.map(\.userId) == [owner])
        }
    }
}

extension Array {
    fileprivate func asyncFilter(_ keep: (Element) async throws -> Bool) async rethrows -> [Element] {
        var out: [Element] = []
        for e in self where try await keep(e) { out.append(e) }
        return out
    }
}
