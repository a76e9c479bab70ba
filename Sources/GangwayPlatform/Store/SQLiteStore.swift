import CSQLite
import FoundationEssentials
import Glibc
import Synchronization

/// A key-value store in one SQLite file (WAL mode), safe for several processes writing the same file:
/// every write runs in a `BEGIN IMMEDIATE` transaction, so read-modify-write (insert-if-absent, CAS,
/// version increments) is atomic across processes. Access to the connection is serialised in-process.
public final class SQLiteStore: KeyValueStore, @unchecked Sendable {
    /// Version 1 tables made before WITHOUT ROWID was added work unchanged: the statements are the same.
    /// WITHOUT ROWID keeps each row in the key's own b-tree, so a lookup or a write touches one tree, not an
    /// index and a table (a refresh grant does seven lookups and three writes).
    public static let schemaVersion: Int32 = 1

    public let path: String
    private let db: OpaquePointer
    private let lock = Mutex(())
    /// Prepared statements by SQL text; guarded by `lock`.
    private var statements: [String: OpaquePointer] = [:]
    /// Frames in the WAL after this connection's last commit (SQLite's WAL hook reports it); guarded by `lock`.
    private var walFrames: Int32 = 0

    /// A one-shot process (a cold function) never closes the store, and the next one, then the file's only
    /// connection, rebuilds the WAL index by checksumming every frame and forgets how much was checkpointed, so the
    /// WAL would never restart: it grew to 2.1 MB after 200 cold `authorize` runs, 10.5% of each one's instructions.
    /// A writer that leaves more frames than this checkpoints and truncates the WAL to nothing (SQLite's own
    /// auto-checkpoint waits for 1,000 frames and only restarts the WAL, which a lost index never does).
    static let walTruncateFrames: Int32 = 128
    /// How long a statement waits for another connection's lock before answering BUSY.
    static let busyTimeoutMs: Int32 = 5000

    /// Opens (creating parent directories, the file and the schema if needed) the database at `path`.
    /// Cheap when the file already exists: one open, three pragmas, one `user_version` read.
    public init(path: String) throws {
        self.path = path
        try StoreFileSystem.createParentDirectories(of: path)
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw StoreError(.unavailable, "cannot open SQLite store at \(path): \(message)")
        }
        db = handle
        do {
            sqlite3_busy_timeout(db, Self.busyTimeoutMs)
            sqlite3_extended_result_codes(db, 1)
            // Switching to WAL needs a brief exclusive lock; concurrent first opens may see BUSY.
            try retryingBusy { try exec("PRAGMA journal_mode=WAL") }
            try exec("PRAGMA synchronous=NORMAL")
            // Replaces the auto-checkpoint hook; `checkpointIfLong` does its work after each write transaction.
            sqlite3_wal_hook(
                db,
                { context, _, _, frames in
                    guard let context else { return SQLITE_OK }
                    Unmanaged<SQLiteStore>.fromOpaque(context).takeUnretainedValue().walFrames = frames
                    return SQLITE_OK
                }, Unmanaged.passUnretained(self).toOpaque())
            if try userVersion() != Self.schemaVersion {
                try retryingBusy {
                    try exec("BEGIN IMMEDIATE")
                    do {
                        if try userVersion() < Self.schemaVersion {
                            try exec(
                                """
                                CREATE TABLE IF NOT EXISTS kv(
                                  key TEXT PRIMARY KEY,
                                  value BLOB NOT NULL,
                                  version INTEGER NOT NULL,
                                  expires_at INTEGER
                                ) WITHOUT ROWID
                                """)
                            try exec("PRAGMA user_version=\(Self.schemaVersion)")
                        }
                        try exec("COMMIT")
                    } catch {
                        _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                        throw error
                    }
                }
                let found = try userVersion()
                guard found == Self.schemaVersion else {
                    throw StoreError(.unsupported, "\(path) has schema version \(found), this build knows \(Self.schemaVersion)")
                }
            }
        } catch {
            sqlite3_close_v2(db)
            throw error
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(db)
    }

    // MARK: KeyValueStore

    public func get(_ key: String) async throws -> StoreRecord? {
        try StoreSupport.validate(key)
        return try locked { try read(key, now: StoreSupport.nowMillis()) }
    }

    /// One read transaction (one snapshot, one pair of WAL read locks) for all of them.
    public func get(many keys: [String]) async throws -> [StoreRecord?] {
        try StoreSupport.validate(keys)
        return try locked {
            _ = try step(try prepared("BEGIN"), reset: true)
            do {
                let now = StoreSupport.nowMillis()
                let records = try keys.map { try read($0, now: now) }
                _ = try step(try prepared("COMMIT"), reset: true)
                return records
            } catch {
                if sqlite3_get_autocommit(db) == 0 { _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
                throw error
            }
        }
    }

    @discardableResult
    public func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 {
        try StoreSupport.validate(key)
        return try writeTransaction { now in
            let version = (try current(key, now: now) ?? 0) + 1
            try upsert(key, value, version: version, expiresAt: StoreSupport.expiry(ttl, now: now))
            return version
        }
    }

    public func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
        try StoreSupport.validate(key)
        return try writeTransaction { now in
            if try current(key, now: now) != nil { return false }
            try upsert(key, value, version: 1, expiresAt: StoreSupport.expiry(ttl, now: now))
            return true
        }
    }

    public func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
        try StoreSupport.validate(key)
        return try writeTransaction { now in
            guard try current(key, now: now) == expectedVersion else { return nil }
            let version = expectedVersion + 1
            try upsert(key, value, version: version, expiresAt: StoreSupport.expiry(ttl, now: now))
            return version
        }
    }

    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
        try StoreSupport.validate(key)
        return try writeTransaction { now in
            let found = try current(key, now: now)
            if let expectedVersion, found != expectedVersion { return false }
            let stmt = try prepared("DELETE FROM kv WHERE key = ?1")
            defer { sqlite3_reset(stmt) }
            try bind(key, to: stmt, at: 1)
            _ = try step(stmt)
            // An expired row is removed too, but does not count as deleted.
            return found != nil
        }
    }

    /// One `BEGIN IMMEDIATE` transaction: each condition is checked and its write made in turn; the first
    /// condition that fails rolls the whole transaction back.
    public func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
        try StoreSupport.validate(operations)
        struct ConditionFailed: Error { let index: Int }
        do {
            return try writeTransaction { now in
                var versions: [Int64?] = []
                for (index, operation) in operations.enumerated() {
                    let found = try current(operation.key, now: now)
                    switch operation {
                    case .insertIfAbsent(let key, let value, let ttl):
                        guard found == nil else { throw ConditionFailed(index: index) }
                        try upsert(key, value, version: 1, expiresAt: StoreSupport.expiry(ttl, now: now))
                        versions.append(1)
                    case .compareAndSwap(let key, let expected, let value, let ttl):
                        guard found == expected else { throw ConditionFailed(index: index) }
                        try upsert(key, value, version: expected + 1, expiresAt: StoreSupport.expiry(ttl, now: now))
                        versions.append(expected + 1)
                    case .put(let key, let value, let ttl):
                        try upsert(key, value, version: (found ?? 0) + 1, expiresAt: StoreSupport.expiry(ttl, now: now))
                        versions.append((found ?? 0) + 1)
                    case .delete(let key, let expected):
                        if let expected, found != expected { throw ConditionFailed(index: index) }
                        let stmt = try prepared("DELETE FROM kv WHERE key = ?1")
                        defer { sqlite3_reset(stmt) }
                        try bind(key, to: stmt, at: 1)
                        _ = try step(stmt)
                        versions.append(nil)
                    }
                }
                return StoreBatchOutcome.committed(versions)
            }
        } catch let failed as ConditionFailed {
            return .conditionFailed(index: failed.index, key: operations[failed.index].key)
        }
    }

    public func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
        guard limit > 0 else { return [] }
        return try locked {
            let now = StoreSupport.nowMillis()
            // TEXT keys compare with memcmp (BINARY collation): byte order of UTF-8, as required.
            let stmt = try prepared(
                "SELECT key, value, version, expires_at FROM kv WHERE key >= ?1 AND key > ?2 ORDER BY key")
            defer { sqlite3_reset(stmt) }
            try bind(prefix, to: stmt, at: 1)
            try bind(after ?? "", to: stmt, at: 2)
            var entries: [StoreEntry] = []
            while entries.count < limit, try step(stmt) {
                let key = columnText(stmt, 0)
                // Ordered by key: the first key past the prefix range ends the scan.
                guard StoreSupport.hasPrefix(key, prefix) else { break }
                let expiresAt = columnInt64OrNil(stmt, 3)
                if StoreSupport.isExpired(expiresAt, now: now) { continue }
                entries.append(
                    StoreEntry(
                        key: key,
                        record: StoreRecord(
                            value: columnData(stmt, 1), version: sqlite3_column_int64(stmt, 2),
                            expiresAt: StoreSupport.date(expiresAt))))
            }
            return entries
        }
    }

    /// Deletes expired rows (optional housekeeping; expired rows are invisible anyway). Returns how many.
    @discardableResult
    public func purgeExpired() throws -> Int {
        try writeTransaction { now in
            let stmt = try prepared("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1")
            defer { sqlite3_reset(stmt) }
            try check(sqlite3_bind_int64(stmt, 1, now))
            _ = try step(stmt)
            return Int(sqlite3_changes(db))
        }
    }

    // MARK: Internals (all called with `lock` held)

    private func locked<T: Sendable>(_ body: () throws -> T) throws -> T {
        try lock.withLock { _ throws -> T in try body() }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT` (the write lock is taken up front, so no other
    /// process can change the row between our read and our write). Rolls back if `body` throws.
    private func writeTransaction<T: Sendable>(_ body: (_ now: Int64) throws -> T) throws -> T {
        try locked {
            // Prepared once like every other statement: `sqlite3_exec` would parse the SQL on each write.
            _ = try step(try prepared("BEGIN IMMEDIATE"), reset: true)
            do {
                // "now" is taken after the lock is acquired, so expiry decisions are made in lock order.
                let result = try body(StoreSupport.nowMillis())
                _ = try step(try prepared("COMMIT"), reset: true)
                checkpointIfLong()
                return result
            } catch {
                if sqlite3_get_autocommit(db) == 0 { _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
                throw error
            }
        }
    }

    /// Checkpoints and truncates the WAL once it holds more than `walTruncateFrames` frames. It never waits: with
    /// another connection reading, the frames are still copied back and the truncation is left to a later writer.
    private func checkpointIfLong() {
        guard walFrames > Self.walTruncateFrames else { return }
        walFrames = 0
        sqlite3_busy_timeout(db, 0)
        defer { sqlite3_busy_timeout(db, Self.busyTimeoutMs) }
        _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
    }

    /// The live record under `key`, or nil.
    private func read(_ key: String, now: Int64) throws -> StoreRecord? {
        let stmt = try prepared("SELECT value, version, expires_at FROM kv WHERE key = ?1")
        defer { sqlite3_reset(stmt) }
        try bind(key, to: stmt, at: 1)
        guard try step(stmt) else { return nil }
        let expiresAt = columnInt64OrNil(stmt, 2)
        if StoreSupport.isExpired(expiresAt, now: now) { return nil }
        return StoreRecord(value: columnData(stmt, 0), version: sqlite3_column_int64(stmt, 1), expiresAt: StoreSupport.date(expiresAt))
    }

    /// The live (non-expired) version of `key`, if any.
    private func current(_ key: String, now: Int64) throws -> Int64? {
        let stmt = try prepared("SELECT version, expires_at FROM kv WHERE key = ?1")
        defer { sqlite3_reset(stmt) }
        try bind(key, to: stmt, at: 1)
        guard try step(stmt) else { return nil }
        if StoreSupport.isExpired(columnInt64OrNil(stmt, 1), now: now) { return nil }
        return sqlite3_column_int64(stmt, 0)
    }

    private func upsert(_ key: String, _ value: Data, version: Int64, expiresAt: Int64?) throws {
        let stmt = try prepared(
            """
            INSERT INTO kv(key, value, version, expires_at) VALUES(?1, ?2, ?3, ?4)
            ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at
            """)
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)  // drop the (possibly large) blob copy
        }
        try bind(key, to: stmt, at: 1)
        try value.withUnsafeBytes { raw in
            if raw.count == 0 {
                try check(sqlite3_bind_zeroblob(stmt, 2, 0))
            } else {
                try check(sqlite3_bind_blob64(stmt, 2, raw.baseAddress, sqlite3_uint64(raw.count), gangway_sqlite_transient()))
            }
        }
        try check(sqlite3_bind_int64(stmt, 3, version))
        if let expiresAt { try check(sqlite3_bind_int64(stmt, 4, expiresAt)) } else { try check(sqlite3_bind_null(stmt, 4)) }
        _ = try step(stmt)
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var stmt: OpaquePointer?
        try check(sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil))
        guard let stmt else { throw StoreError(.unavailable, "empty SQL statement") }
        statements[sql] = stmt
        return stmt
    }

    private func bind(_ text: String, to stmt: OpaquePointer, at index: Int32) throws {
        try check(sqlite3_bind_text(stmt, index, text, -1, gangway_sqlite_transient()))
    }

    /// Steps once: true if a row is available, false when done. `reset` readies the statement for its next use.
    private func step(_ stmt: OpaquePointer, reset: Bool = false) throws -> Bool {
        let rc = sqlite3_step(stmt)
        if reset { sqlite3_reset(stmt) }
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(rc)
        }
    }

    private func exec(_ sql: String) throws {
        try check(sqlite3_exec(db, sql, nil, nil, nil))
    }

    private func userVersion() throws -> Int32 {
        var stmt: OpaquePointer?
        try check(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nil))
        defer { sqlite3_finalize(stmt) }
        guard let stmt, try step(stmt) else { return 0 }
        return sqlite3_column_int(stmt, 0)
    }

    /// Retries `body` for up to ~5 s while SQLite reports BUSY/LOCKED outside the busy handler's reach.
    private func retryingBusy(_ body: () throws -> Void) throws {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as StoreError where error.code == .busy && attempt < 500 {
                attempt += 1
                usleep(10_000)
            }
        }
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    private func error(_ rc: Int32) -> StoreError {
        let primary = rc & 0xFF
        let name: String
        switch primary {
        case SQLITE_BUSY: name = "SQLITE_BUSY"
        case SQLITE_LOCKED: name = "SQLITE_LOCKED"
        default: name = "SQLITE_ERROR(\(rc))"
        }
        let message = "\(name): \(String(cString: sqlite3_errmsg(db))) [\(path)]"
        switch primary {
        case SQLITE_CORRUPT, SQLITE_NOTADB: return StoreError(.corrupt, message)
        case SQLITE_BUSY, SQLITE_LOCKED: return StoreError(.busy, message)
        default: return StoreError(.unavailable, message)
        }
    }

    private func columnText(_ stmt: OpaquePointer, _ index: Int32) -> String {
        guard let text = sqlite3_column_text(stmt, index) else { return "" }
        let count = Int(sqlite3_column_bytes(stmt, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    private func columnData(_ stmt: OpaquePointer, _ index: Int32) -> Data {
        guard let blob = sqlite3_column_blob(stmt, index) else { return Data() }
        return Data(bytes: blob, count: Int(sqlite3_column_bytes(stmt, index)))
    }

    private func columnInt64OrNil(_ stmt: OpaquePointer, _ index: Int32) -> Int64? {
        sqlite3_column_type(stmt, index) == SQLITE_NULL ? nil : sqlite3_column_int64(stmt, index)
    }
}

/// Small filesystem helpers shared by the file-based backends.
enum StoreFileSystem {
    static func createParentDirectories(of path: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        let parent = String(path[..<slash])
        if parent.isEmpty { return }
        try createDirectories(parent)
    }

    static func createDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.unavailable, "cannot create directory \(path): \(error)")
        }
    }
}
