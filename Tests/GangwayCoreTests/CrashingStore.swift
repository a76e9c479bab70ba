import Foundation
import Synchronization

@testable import GangwayPlatform

/// A real store that stops writing after its first `writesLeft` low-level writes (a put, an insert, a
/// compare-and-swap, a delete or a whole batch each count as one): every later write throws, as a process that
/// crashed at that moment would never make it. Reads pass through, so the operation runs as it would up to the
/// crash. Test-only: fault injection over the real SQLite, PostgreSQL and file backends.
final class CrashingStore: KeyValueStore {
    let inner: any KeyValueStore
    private let writesLeft: Mutex<Int>
    private let crashed = Mutex(false)

    init(_ inner: any KeyValueStore, writesBeforeCrash: Int) {
        self.inner = inner
        self.writesLeft = Mutex(writesBeforeCrash)
    }

    /// Whether a write was refused (the operation did not run to its end).
    var didCrash: Bool { crashed.withLock { $0 } }

    private func write() throws {
        let allowed = writesLeft.withLock { left in
            left -= 1
            return left >= 0
        }
        guard allowed else {
            crashed.withLock { $0 = true }
            throw StoreError(.unavailable, "injected crash")
        }
    }

    func get(_ key: String) async throws -> StoreRecord? { try await inner.get(key) }
    func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 {
        try write()
        return try await inner.put(key, value, ttl: ttl)
    }
    func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
        try write()
        return try await inner.insertIfAbsent(key, value, ttl: ttl)
    }
    func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
        try write()
        return try await inner.compareAndSwap(key, expectedVersion: expectedVersion, value, ttl: ttl)
    }
    func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
        try write()
        return try await inner.delete(key, expectedVersion: expectedVersion)
    }
    func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
        try write()
        return try await inner.commit(operations)
    }
    func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
        try await inner.list(prefix: prefix, after: after, limit: limit)
    }
    func purgeExpired() async throws -> Int { try await inner.purgeExpired() }
}
