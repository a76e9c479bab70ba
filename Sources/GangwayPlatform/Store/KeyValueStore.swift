import FoundationEssentials

/// A small async key-value interface (like Hummingbird's PersistDriver) every backend implements.
///
/// Semantics shared by all backends:
/// - keys are non-empty UTF-8 strings of at most 512 bytes without NUL (else `StoreError(.invalidKey)`);
///   keys are compared and ordered by their UTF-8 bytes (not by Swift's Unicode-canonical `String ==`);
/// - an expired record (expiresAt <= now) behaves exactly like an absent one, so re-creating it starts at version 1;
/// - every write is atomic, also across processes sharing one store, and so is a batch of them (`commit`).
public protocol KeyValueStore: Sendable {
    func get(_ key: String) async throws -> StoreRecord?
    /// The records of several keys, in the order asked (nil where absent or expired): reads a request knows it will
    /// make, fetched together (one round trip on PostgreSQL, one read transaction on SQLite). Each key is validated
    /// first; a key may repeat.
    func get(many keys: [String]) async throws -> [StoreRecord?]
    /// A hint that this request will read `keys` next: a `ReadAheadStore` fetches them together now; every other
    /// store ignores it (each read then goes to the store when it is made). A requirement, not a cast: a failed
    /// dynamic cast costs a cold process 0.6 million instructions (a scan of every protocol conformance).
    func readAhead(_ keys: [String]) async throws
    /// Unconditional write; returns the new version (1 for a new key, previous+1 otherwise).
    @discardableResult func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64
    /// Writes only if the key is absent (an expired record counts as absent). True if this call wrote it (version 1).
    func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool
    /// Writes only if the current version equals `expectedVersion`; returns the new version, or nil if it did not match (or key absent/expired).
    func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64?
    /// Deletes; with expectedVersion only if it matches. True if something was deleted.
    @discardableResult func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool
    /// Entries whose key starts with prefix, in ascending key (byte) order, strictly after `after` if given, at most `limit`. Expired entries omitted.
    func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry]
    /// Applies several conditional writes to distinct keys as one: all of them, or none when any condition
    /// fails (the outcome names the first that did). Every key is validated before anything is written (a bad
    /// or repeated key throws `StoreError(.invalidKey)`); a thrown error also means nothing was written.
    /// Multi-record invariants (a login index and the user it names) rest on this.
    func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome
    /// Deletes expired records for good (they are already invisible); returns how many. Run it periodically:
    /// refresh tokens and log events expire by the thousand (`gangway store purge`).
    func purgeExpired() async throws -> Int
}

// MARK: - Conveniences

extension KeyValueStore {
    public func readAhead(_ keys: [String]) async throws {}

    /// One read after another: for backends where a read costs no round trip (files).
    public func get(many keys: [String]) async throws -> [StoreRecord?] {
        try StoreSupport.validate(keys)
        var records: [StoreRecord?] = []
        for key in keys { records.append(try await get(key)) }
        return records
    }

    @discardableResult public func put(_ key: String, _ value: Data) async throws -> Int64 {
        try await put(key, value, ttl: nil)
    }

    public func insertIfAbsent(_ key: String, _ value: Data) async throws -> Bool {
        try await insertIfAbsent(key, value, ttl: nil)
    }

    public func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data) async throws -> Int64? {
        try await compareAndSwap(key, expectedVersion: expectedVersion, value, ttl: nil)
    }

    @discardableResult public func delete(_ key: String) async throws -> Bool {
        try await delete(key, expectedVersion: nil)
    }

    public func list(prefix: String) async throws -> [StoreEntry] {
        try await list(prefix: prefix, after: nil, limit: 1000)
    }

    public func list(prefix: String, after: String?) async throws -> [StoreEntry] {
        try await list(prefix: prefix, after: after, limit: 1000)
    }

    public func list(prefix: String, limit: Int) async throws -> [StoreEntry] {
        try await list(prefix: prefix, after: nil, limit: limit)
    }
}
