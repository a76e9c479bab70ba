import FoundationEssentials
import Synchronization

/// One request's view of a store, for requests that know which records they will read next: `readAhead(_:)`
/// fetches them together (one round trip on PostgreSQL), and the next `get` of each is answered from what was
/// fetched, once. A write through this view drops its key's fetched copy, so a read after a write sees the write;
/// everything else passes straight through. A record read ahead is as fresh as any read of a store without
/// transactions: it may change between the fetch and its use, which every conditional write (compare-and-swap)
/// already allows for.
public final class ReadAheadStore: KeyValueStore {
    public let base: any KeyValueStore
    /// Fetched records not yet read (nil: fetched and absent), by the key's UTF-8 bytes (keys compare as bytes).
    private let fetched = Mutex<[[UInt8]: StoreRecord?]>([:])

    public init(_ base: any KeyValueStore) {
        self.base = base
    }

    /// Fetches, in one `get(many:)`, the keys not already waiting to be read. A key the store would refuse is left
    /// out: the read that names it, if it comes, fails as it would have.
    public func readAhead(_ keys: [String]) async throws {
        let wanted = fetched.withLock { waiting in
            keys.filter { waiting[Array($0.utf8)] == nil && (try? StoreSupport.validate($0)) != nil }
        }
        guard !wanted.isEmpty else { return }
        let records = try await base.get(many: wanted)
        fetched.withLock { waiting in
            for (key, record) in zip(wanted, records) { waiting[Array(key.utf8)] = .some(record) }
        }
    }

    private func take(_ key: String) -> StoreRecord?? {
        fetched.withLock { $0.removeValue(forKey: Array(key.utf8)) }
    }

    private func drop(_ keys: some Sequence<String>) {
        fetched.withLock { waiting in
            for key in keys { waiting.removeValue(forKey: Array(key.utf8)) }
        }
    }

    // MARK: KeyValueStore

    public func get(_ key: String) async throws -> StoreRecord? {
        if let record = take(key) { return record }
        return try await base.get(key)
    }

    public func get(many keys: [String]) async throws -> [StoreRecord?] {
        try StoreSupport.validate(keys)
        let known = keys.map { take($0) }
        let missing = zip(keys, known).filter { $0.1 == nil }.map(\.0)
        var fromBase = try await base.get(many: missing).makeIterator()
        return known.map { $0 ?? fromBase.next() ?? nil }
    }

    public func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 {
        drop([key])
        return try await base.put(key, value, ttl: ttl)
    }

    public func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
        drop([key])
        return try await base.insertIfAbsent(key, value, ttl: ttl)
    }

    public func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
        drop([key])
        return try await base.compareAndSwap(key, expectedVersion: expectedVersion, value, ttl: ttl)
    }

    public func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
        drop([key])
        return try await base.delete(key, expectedVersion: expectedVersion)
    }

    public func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
        try await base.list(prefix: prefix, after: after, limit: limit)
    }

    public func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
        drop(operations.map(\.key))
        return try await base.commit(operations)
    }

    public func purgeExpired() async throws -> Int {
        try await base.purgeExpired()
    }
}
