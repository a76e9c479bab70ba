import CPostgreSQL
import FoundationEssentials
import Glibc
import Synchronization

/// A key-value store in one PostgreSQL table, shared by every process and function instance that points at it.
///
/// - URL: `postgres://user:password@host:port/database` (or `postgresql://`), handed to libpq as given
///   (its query parameters, `sslmode=require` say, apply), plus Gangway's own `schema=NAME`: the store's tables
///   live in that schema (created if needed) instead of the connection's default one.
/// - Schema: created and upgraded on open, versioned in `gangway_schema_migrations`, under a transaction-scoped
///   advisory lock so many instances starting at once migrate exactly once. An up-to-date schema costs one query.
/// - Table `kv(key text COLLATE "C" PRIMARY KEY, value bytea, version bigint, expires_at timestamptz)`: the "C"
///   collation makes key order byte order whatever the database's locale. Expiry is decided by the server's clock.
/// - Every operation is one parameterised statement (values as binary `bytea`), atomic under concurrent writers:
///   insert-if-absent is `INSERT … ON CONFLICT DO UPDATE … WHERE expired`, compare-and-swap an `UPDATE … WHERE version`.
/// - A batch (`commit`) is one call of a PL/pgSQL function, so one round trip and one transaction: the function
///   runs the operations in key order (so two batches lock rows in one order and cannot deadlock each other),
///   and the first failed condition raises inside a sub-block, which rolls back every write made so far and
///   returns that operation's index. The function is created in `pg_temp` on the first batch of each connection:
///   no schema change, so builds without batches keep working against the same database.
/// - One connection per store, opened in `init` and reused (warm workers keep their store); calls are serialised
///   on it. A connection found broken is reopened once and the statement retried.
/// - libpq is loaded on first use (`Sources/System/CPostgreSQL/shim.h`). The password never appears in errors.
public final class PostgresStore: KeyValueStore, @unchecked Sendable {
    /// Schema migrations, applied in order; each version's statements run in the migrating transaction.
    static let migrations: [(version: Int64, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE IF NOT EXISTS kv(
                  key text COLLATE "C" PRIMARY KEY,
                  value bytea NOT NULL,
                  version bigint NOT NULL,
                  expires_at timestamptz NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS kv_expires_at ON kv(expires_at) WHERE expires_at IS NOT NULL",
            ]
        )
    ]
    public static var schemaVersion: Int64 { migrations.last!.version }

    /// The store's location without credentials or parameters (`postgres://host:port/db`): safe to log.
    public let displayName: String
    /// The schema holding the tables, if the URL named one.
    public let schema: String?
    private let conninfo: String
    private let secrets: [String]
    private let lock = Mutex(())
    /// The open connection (a `PGconn *`); guarded by `lock`.
    private var connection: OpaquePointer?
    /// Whether `batchFunction` exists on `connection` (temporary objects live as long as their session); guarded by `lock`.
    private var batchFunctionReady = false
    /// The statements prepared on the current connection (SQL → statement name): a statement with parameters is
    /// parsed and planned by the server once per connection, then only executed (PQexecPrepared). Emptied on reconnect.
    private var preparedStatements: [String: String] = [:]

    /// Connects and creates or upgrades the schema if needed.
    public init(url: String) throws {
        let parsed = try Self.parse(url)
        displayName = parsed.displayName
        schema = parsed.schema
        conninfo = parsed.conninfo
        secrets = parsed.secrets
        try lock.withLock { _ in
            let conn = try connect()
            connection = conn
            try ensureSchema(conn)
        }
    }

    deinit {
        if let connection { gangway_pq_finish(connection) }
    }

    // MARK: KeyValueStore

    public func get(_ key: String) async throws -> StoreRecord? {
        try StoreSupport.validate(key)
        return try run(
            "SELECT value, version, \(Self.expiryMillis) FROM kv WHERE key = $1 AND \(Self.live)", [.text(key)]
        ) { result in
            result.rows == 0 ? nil : result.record(0, value: 0)
        }
    }

    /// One statement: a `UNION ALL` of the primary-key lookup `get` makes, one per key asked (answers come back with
    /// their position: no key comparison, no array literal). Prepared once per number of keys on each connection.
    public func get(many keys: [String]) async throws -> [StoreRecord?] {
        try StoreSupport.validate(keys)
        guard !keys.isEmpty else { return [] }
        let sql = keys.indices.map {
            "SELECT \($0)::int8, value, version, \(Self.expiryMillis) FROM kv WHERE key = $\($0 + 1) AND \(Self.live)"
        }.joined(separator: " UNION ALL ")
        return try run(sql, keys.map { .text($0) }) { result in
            var records = [StoreRecord?](repeating: nil, count: keys.count)
            for row in 0..<result.rows {
                let position = Int(try result.int64(row, 0))
                guard records.indices.contains(position) else { throw StoreError(.corrupt, "lookup returned position \(position)") }
                records[position] = result.record(row, value: 1)
            }
            return records
        }
    }

    @discardableResult
    public func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 {
        try StoreSupport.validate(key)
        // Over an expired row the version starts again at 1, as for an absent one.
        return try run(
            """
            INSERT INTO kv(key, value, version, expires_at) VALUES($1, $2, 1, \(Self.expiry("$3")))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
              version = CASE WHEN kv.expires_at <= now() THEN 1 ELSE kv.version + 1 END
            RETURNING version
            """, [.text(key), .bytea(value), .int8(Self.ttlMillis(ttl))]
        ) { result in try result.int64(0, 0) }
    }

    public func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
        try StoreSupport.validate(key)
        // The conflicting row is replaced only if it has expired; one affected row means this call wrote it.
        return try run(
            """
            INSERT INTO kv(key, value, version, expires_at) VALUES($1, $2, 1, \(Self.expiry("$3")))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = 1, expires_at = excluded.expires_at
              WHERE kv.expires_at <= now()
            """, [.text(key), .bytea(value), .int8(Self.ttlMillis(ttl))]
        ) { result in result.affected == 1 }
    }

    public func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
        try StoreSupport.validate(key)
        return try run(
            """
            UPDATE kv SET value = $3, version = version + 1, expires_at = \(Self.expiry("$4"))
            WHERE key = $1 AND version = $2 AND \(Self.live)
            RETURNING version
            """, [.text(key), .int8(expectedVersion), .bytea(value), .int8(Self.ttlMillis(ttl))]
        ) { result in result.rows == 0 ? nil : try result.int64(0, 0) }
    }

    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
        try StoreSupport.validate(key)
        if let expectedVersion {
            return try run(
                "DELETE FROM kv WHERE key = $1 AND version = $2 AND \(Self.live)", [.text(key), .int8(expectedVersion)]
            ) { result in result.affected == 1 }
        }
        // An expired row is removed too, but does not count as deleted.
        return try run("DELETE FROM kv WHERE key = $1 RETURNING \(Self.live)", [.text(key)]) { result in
            result.rows == 1 && result.bool(0, 0)
        }
    }

    public func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
        try StoreSupport.validate(operations)
        guard !operations.isEmpty else { return .committed([]) }
        // Key order (byte order, as the "C" collation compares): the order every batch takes its row locks in.
        let order = operations.indices.sorted { StoreSupport.precedes(operations[$0].key, operations[$1].key) }
        var params: [Param] = []
        for index in order {
            switch operations[index] {
            case .insertIfAbsent(let key, let value, let ttl):
                params += [.text(key), .int8(1), .bytea(value), .int8(nil), .int8(Self.ttlMillis(ttl))]
            case .compareAndSwap(let key, let expected, let value, let ttl):
                params += [.text(key), .int8(2), .bytea(value), .int8(expected), .int8(Self.ttlMillis(ttl))]
            case .put(let key, let value, let ttl):
                params += [.text(key), .int8(3), .bytea(value), .int8(nil), .int8(Self.ttlMillis(ttl))]
            case .delete(let key, let expected):
                params += [.text(key), .int8(4), .bytea(Data()), .int8(expected), .int8(nil)]
            }
        }
        func column(_ offset: Int, _ type: String) -> String {
            "ARRAY[" + order.indices.map { "$\($0 * 5 + offset + 1)::\(type)" }.joined(separator: ",") + "]"
        }
        let sql =
            "SELECT failed, versions FROM pg_temp.gangway_kv_batch(\(column(0, "text")), \(column(1, "int8")), "
            + "\(column(2, "bytea")), \(column(3, "int8")), \(column(4, "int8")))"
        return try run(sql, params, needsBatchFunction: true) { result in
            if !result.isNull(0, 0) {
                let index = order[Int(try result.int64(0, 0))]
                return .conditionFailed(index: index, key: operations[index].key)
            }
            let written = result.text(0, 1).split(separator: ",").map { Int64($0) ?? 0 }
            guard written.count == order.count else { throw StoreError(.corrupt, "batch returned \(written.count) versions") }
            var versions = [Int64?](repeating: nil, count: operations.count)
            for (position, index) in order.enumerated() where written[position] > 0 { versions[index] = written[position] }
            return .committed(versions)
        }
    }

    /// The batch function (see the type's documentation). Operation codes: 1 insert-if-absent, 2 compare-and-swap,
    /// 3 put, 4 delete (with an expected version when `expected` is not NULL). Returns the 0-based position of the
    /// failed operation, or NULL and the versions written (0 for a delete), comma-separated.
    static let batchFunction = """
        CREATE OR REPLACE FUNCTION pg_temp.gangway_kv_batch(
          keys text[], ops int8[], vals bytea[], expected int8[], ttls int8[]
        ) RETURNS TABLE(failed int8, versions text) LANGUAGE plpgsql AS $fn$
        DECLARE
          i int;
          v int8;
          written int8[] := '{}';
          failing int8;
        BEGIN
          BEGIN
            FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
              v := NULL;
              IF ops[i] = 1 THEN
                INSERT INTO kv(key, value, version, expires_at)
                  VALUES(keys[i], vals[i], 1, now() + ttls[i] * interval '1 millisecond')
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = 1, expires_at = excluded.expires_at
                  WHERE kv.expires_at <= now()
                RETURNING kv.version INTO v;
              ELSIF ops[i] = 2 THEN
                UPDATE kv SET value = vals[i], version = kv.version + 1, expires_at = now() + ttls[i] * interval '1 millisecond'
                WHERE kv.key = keys[i] AND kv.version = expected[i] AND (kv.expires_at IS NULL OR kv.expires_at > now())
                RETURNING kv.version INTO v;
              ELSIF ops[i] = 3 THEN
                INSERT INTO kv(key, value, version, expires_at)
                  VALUES(keys[i], vals[i], 1, now() + ttls[i] * interval '1 millisecond')
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
                  version = CASE WHEN kv.expires_at <= now() THEN 1 ELSE kv.version + 1 END
                RETURNING kv.version INTO v;
              ELSIF expected[i] IS NULL THEN
                DELETE FROM kv WHERE kv.key = keys[i];
                v := 0;
              ELSE
                DELETE FROM kv WHERE kv.key = keys[i] AND kv.version = expected[i]
                  AND (kv.expires_at IS NULL OR kv.expires_at > now())
                RETURNING 0 INTO v;
              END IF;
              IF v IS NULL THEN
                failing := i - 1;
                RAISE EXCEPTION 'gangway batch condition failed' USING ERRCODE = 'raise_exception';
              END IF;
              written := written || v;
            END LOOP;
          EXCEPTION WHEN raise_exception THEN
            RETURN QUERY SELECT failing, NULL::text;
            RETURN;
          END;
          RETURN QUERY SELECT NULL::int8, array_to_string(written, ',');
        END
        $fn$
        """

    public func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
        guard limit > 0, !prefix.utf8.contains(0) else { return [] }
        // [prefix, upper) is exactly the keys starting with prefix, so the primary key index bounds the scan.
        // (A NUL cut off `after` changes nothing: no key contains NUL.)
        return try run(
            """
            SELECT key, value, version, \(Self.expiryMillis) FROM kv
            WHERE key >= $1 AND ($2::text IS NULL OR key < $2) AND key > $3 AND \(Self.live)
            ORDER BY key LIMIT $4
            """,
            [.text(prefix), Self.prefixUpperBound(prefix).map { .text($0) } ?? .text(nil), .text(after ?? ""), .int8(Int64(limit))]
        ) { result in
            (0..<result.rows).compactMap { row in
                let key = result.text(row, 0)
                // Byte order makes the range exact; checked anyway, as the other backends do.
                guard StoreSupport.hasPrefix(key, prefix) else { return nil }
                return StoreEntry(key: key, record: result.record(row, value: 1))
            }
        }
    }

    /// Deletes expired rows (optional housekeeping; expired rows are invisible anyway). Returns how many.
    @discardableResult
    public func purgeExpired() throws -> Int {
        try run("DELETE FROM kv WHERE expires_at <= now()", []) { $0.affected }
    }

    /// The first column of the first row as an int8, if any (for tests and operators' checks).
    func scalar(_ sql: String, _ params: [Param] = []) throws -> Int64? {
        try run(sql, params) { result in result.rows == 0 || result.isNull(0, 0) ? nil : try result.int64(0, 0) }
    }

    // MARK: SQL fragments

    /// The row is live (not expired), by the server's clock.
    private static let live = "(expires_at IS NULL OR expires_at > now())"
    /// expires_at as unix milliseconds (NULL for never).
    private static let expiryMillis = "floor(extract(epoch FROM expires_at) * 1000)::int8"

    /// now() + a ttl in ms given by the int8 parameter `param` (NULL ttl, NULL expiry).
    private static func expiry(_ param: String) -> String {
        "now() + \(param)::int8 * interval '1 millisecond'"
    }

    /// A ttl in ms, clamped to ±10¹³ ms (~317 years) so the timestamp stays in range.
    static func ttlMillis(_ ttl: Duration?) -> Int64? {
        guard let ttl else { return nil }
        let limit: Int64 = 10_000_000_000_000
        let (seconds, attoseconds) = ttl.components
        if seconds > limit / 1000 { return limit }
        if seconds < -limit / 1000 { return -limit }
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The least string above every string starting with `prefix` (in code point = UTF-8 byte order), or nil if none.
    static func prefixUpperBound(_ prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }  // skip the surrogates
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var bound = ""
                bound.unicodeScalars.append(contentsOf: scalars)
                return bound
            }
        }
        return nil
    }

    // MARK: Connection and statements

    enum Param {
        case text(String?)
        case int8(Int64?)
        case bytea(Data)
    }

    /// Runs one statement (retrying once on a reopened connection if the connection broke) and reads its result.
    private func run<T: Sendable>(
        _ sql: String, _ params: [Param], needsBatchFunction: Bool = false, _ read: (ResultView) throws -> T
    ) throws -> T {
        try lock.withLock { _ throws -> T in
            func execute(_ conn: OpaquePointer, _ sql: String, _ params: [Param]) throws -> Execution {
                if needsBatchFunction && !batchFunctionReady {
                    let created = try self.execute(conn, Self.batchFunction, [])
                    if created.failed { return created }
                    gangway_pq_clear(created.pointer)
                    batchFunctionReady = true
                }
                return try self.execute(conn, sql, params)
            }
            var conn: OpaquePointer
            if let open = connection, gangway_pq_status(open) == CONNECTION_OK {
                conn = open
            } else {
                conn = try reconnect()
            }
            var result = try execute(conn, sql, params)
            if result.failed, gangway_pq_status(conn) == CONNECTION_BAD {
                gangway_pq_clear(result.pointer)
                conn = try reconnect()
                result = try execute(conn, sql, params)
            }
            defer { gangway_pq_clear(result.pointer) }
            if result.failed { throw error(result.pointer, conn) }
            return try read(result.view)
        }
    }

    /// Drops the current connection (if any) and opens a new one. Called with `lock` held.
    private func reconnect() throws -> OpaquePointer {
        if let old = connection {
            gangway_pq_finish(old)
            connection = nil
        }
        batchFunctionReady = false
        preparedStatements = [:]
        let conn = try connect()
        connection = conn
        return conn
    }

    private func connect() throws -> OpaquePointer {
        guard gangway_pq_available() != 0 else {
            throw StoreError(.unavailable, "PostgreSQL store \(displayName): libpq.so.5 not found (Debian: apt-get install libpq5)")
        }
        guard let conn = gangway_pq_connectdb(conninfo) else {
            throw StoreError(.unavailable, "PostgreSQL store \(displayName): cannot allocate a connection")
        }
        guard gangway_pq_status(conn) == CONNECTION_OK else {
            let message = redacted(String(cString: gangway_pq_error_message(conn)))
            gangway_pq_finish(conn)
            throw StoreError(.unavailable, "cannot connect to PostgreSQL store \(displayName): \(message)")
        }
        // Every statement here finds its rows by primary key (the purge aside, which has no index to use anyway). A
        // prepared statement keeps the plan made at its first executions: planned while a new table held a few dozen
        // rows, a lookup became a sequential scan and stayed one as the table grew (the PostgreSQL bench's second
        // phase: 2,000 scans of the whole table in 8 s). With sequential scans off, every plan is an index lookup.
        let settings = (schema.map { ["SET search_path TO \"\($0)\""] } ?? []) + ["SET enable_seqscan = off"]
        for setting in settings {
            do {
                let result = try execute(conn, setting, [])
                defer { gangway_pq_clear(result.pointer) }
                if result.failed { throw error(result.pointer, conn) }
            } catch {
                gangway_pq_finish(conn)
                throw error
            }
        }
        return conn
    }

    /// Brings the schema to `schemaVersion`: one query when it already is; otherwise migrates under an advisory lock.
    private func ensureSchema(_ conn: OpaquePointer) throws {
        let check = "SELECT coalesce(max(version), 0)::int8 FROM gangway_schema_migrations"
        let first = try execute(conn, check, [])
        let current = first.failed ? nil : try? first.view.int64(0, 0)
        gangway_pq_clear(first.pointer)
        if let current, current >= Self.schemaVersion {
            guard current == Self.schemaVersion else {
                throw StoreError(.unsupported, "\(displayName) has schema version \(current), this build knows \(Self.schemaVersion)")
            }
            return
        }
        // Missing or older schema (or the check failed): migrate, one instance at a time.
        func exec(_ sql: String, _ params: [Param] = []) throws -> Int64? {
            let result = try execute(conn, sql, params)
            defer { gangway_pq_clear(result.pointer) }
            if result.failed { throw error(result.pointer, conn) }
            return result.view.rows > 0 ? try? result.view.int64(0, 0) : nil
        }
        _ = try exec("BEGIN")
        do {
            _ = try exec("SELECT pg_advisory_xact_lock(hashtext($1)::int8)", [.text("gangway_schema_migrations:" + (schema ?? ""))])
            if let schema { _ = try exec("CREATE SCHEMA IF NOT EXISTS \"\(schema)\"") }
            _ = try exec(
                """
                CREATE TABLE IF NOT EXISTS gangway_schema_migrations(
                  version integer PRIMARY KEY,
                  applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let applied = try exec(check) ?? 0
            guard applied <= Self.schemaVersion else {
                throw StoreError(.unsupported, "\(displayName) has schema version \(applied), this build knows \(Self.schemaVersion)")
            }
            for migration in Self.migrations where migration.version > applied {
                for statement in migration.statements { _ = try exec(statement) }
                _ = try exec("INSERT INTO gangway_schema_migrations(version) VALUES($1::int8)", [.int8(migration.version)])
            }
            _ = try exec("COMMIT")
        } catch {
            if gangway_pq_status(conn) == CONNECTION_OK, let result = try? execute(conn, "ROLLBACK", []) {
                gangway_pq_clear(result.pointer)
            }
            throw error
        }
    }

    private struct Execution {
        var pointer: OpaquePointer?
        var failed: Bool
        var view: ResultView { ResultView(pointer: pointer!) }
    }

    /// Runs a statement with text parameters (int8 as decimal) and binary bytea, asking for binary results: prepared
    /// once per connection when it has parameters (every statement the store repeats does), else PQexecParams.
    /// Called with `lock` held.
    private func execute(_ conn: OpaquePointer, _ sql: String, _ params: [Param]) throws -> Execution {
        var types: [UInt32] = []
        var values: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        defer { for value in values { free(value) } }
        for param in params {
            switch param {
            case .text(let text):
                types.append(25)  // text
                values.append(text.map { strdup($0) } ?? nil)
                lengths.append(0)
                formats.append(0)
            case .int8(let number):
                types.append(20)  // int8
                values.append(number.map { strdup(String($0)) } ?? nil)
                lengths.append(0)
                formats.append(0)
            case .bytea(let data):
                guard data.count < Int32.max else { throw StoreError(.unsupported, "value of \(data.count) bytes is too large") }
                types.append(17)  // bytea
                let buffer = malloc(max(data.count, 1))!.assumingMemoryBound(to: CChar.self)
                data.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { memcpy(buffer, base, raw.count) }
                }
                values.append(buffer)
                lengths.append(Int32(data.count))
                formats.append(1)
            }
        }
        var statement: String? = preparedStatements[sql]
        if statement == nil, !params.isEmpty {
            let name = "gangway_\(preparedStatements.count)"
            let prepared = gangway_pq_prepare(conn, name, sql, Int32(params.count), types)
            let status = prepared.map { gangway_pq_result_status($0) }
            guard status == PGRES_COMMAND_OK else {
                return Execution(pointer: prepared, failed: true)
            }
            gangway_pq_clear(prepared)
            preparedStatements[sql] = name
            statement = name
        }
        let result = values.withUnsafeBufferPointer { valuePointers in
            valuePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { constValues in
                if let statement {
                    gangway_pq_exec_prepared(conn, statement, Int32(params.count), constValues.baseAddress, lengths, formats, 1)
                } else {
                    gangway_pq_exec_params(conn, sql, Int32(params.count), types, constValues.baseAddress, lengths, formats, 1)
                }
            }
        }
        guard let result else {
            return Execution(pointer: nil, failed: true)
        }
        let status = gangway_pq_result_status(result)
        return Execution(pointer: result, failed: status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    }

    private func error(_ result: OpaquePointer?, _ conn: OpaquePointer) -> StoreError {
        let sqlstate = result.map { String(cString: gangway_pq_sqlstate($0)) } ?? ""
        let raw = result.map { String(cString: gangway_pq_result_error_message($0)) } ?? ""
        let message = redacted(raw.isEmpty ? String(cString: gangway_pq_error_message(conn)) : raw)
        let text = "PostgreSQL\(sqlstate.isEmpty ? "" : " \(sqlstate)"): \(message) [\(displayName)]"
        // 22xxx data exceptions and XX001/XX002 (data/index corrupted) mean the data is bad; the rest, unavailable.
        if sqlstate == "XX001" || sqlstate == "XX002" { return StoreError(.corrupt, text) }
        return StoreError(.unavailable, text)
    }

    private func redacted(_ message: String) -> String {
        var message = message
        for secret in secrets where !secret.isEmpty {
            message = message.replacing(secret, with: "***")
        }
        while message.last?.isWhitespace == true { message.removeLast() }
        return message.replacing("\n", with: " ")
    }

    /// Read access to a result in binary format.
    struct ResultView {
        let pointer: OpaquePointer
        var rows: Int { Int(gangway_pq_ntuples(pointer)) }
        var affected: Int { Int(String(cString: gangway_pq_cmd_tuples(pointer))) ?? 0 }

        func isNull(_ row: Int, _ column: Int) -> Bool { gangway_pq_getisnull(pointer, Int32(row), Int32(column)) != 0 }

        func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
            let count = Int(gangway_pq_getlength(pointer, Int32(row), Int32(column)))
            return UnsafeRawBufferPointer(start: gangway_pq_getvalue(pointer, Int32(row), Int32(column)), count: count)
        }

        func text(_ row: Int, _ column: Int) -> String { String(decoding: bytes(row, column), as: UTF8.self) }
        func data(_ row: Int, _ column: Int) -> Data { Data(bytes(row, column)) }
        func bool(_ row: Int, _ column: Int) -> Bool { bytes(row, column).first == 1 }

        func int64(_ row: Int, _ column: Int) throws -> Int64 {
            let raw = bytes(row, column)
            guard raw.count == 8 else { throw StoreError(.corrupt, "expected an int8 column, got \(raw.count) bytes") }
            return raw.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }

        /// value, version, expiry ms at columns value, value+1, value+2.
        func record(_ row: Int, value column: Int) -> StoreRecord {
            let expiresAt = isNull(row, column + 2) ? nil : try? int64(row, column + 2)
            return StoreRecord(
                value: data(row, column), version: (try? int64(row, column + 1)) ?? 0, expiresAt: StoreSupport.date(expiresAt))
        }
    }

    // MARK: URL

    struct ParsedURL {
        var conninfo: String
        var displayName: String
        var schema: String?
        var secrets: [String]
    }

    static func percentDecoded(_ s: String) -> String? { s.percentDecoded() }

    /// Splits Gangway's `schema=` off the query (libpq rejects unknown parameters), adds a connect timeout unless
    /// given, and derives a credential-free display name.
    static func parse(_ url: String) throws -> ParsedURL {
        let scheme: Substring
        if url.hasPrefix("postgres://") {
            scheme = "postgres"
        } else if url.hasPrefix("postgresql://") {
            scheme = "postgresql"
        } else {
            throw StoreError(.invalidURL, "not a postgres:// URL")
        }
        let head = url.index(url.startIndex, offsetBy: scheme.count + 3)
        var rest = url[head...]
        var query = ""
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var hosts = authority
        var secrets: [String] = []
        if let at = authority.lastIndex(of: "@") {
            hosts = authority[authority.index(after: at)...]
            let userinfo = authority[..<at]
            if let colon = userinfo.firstIndex(of: ":") {
                let password = String(userinfo[userinfo.index(after: colon)...])
                secrets.append(password)
                if let decoded = percentDecoded(password), decoded != password { secrets.append(decoded) }
            }
        }
        var schema: String?
        var kept: [String] = []
        var hasTimeout = false
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            if item.hasPrefix("schema=") {
                let name = String(item.dropFirst("schema=".count))
                guard let first = name.utf8.first, first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
                    name.utf8.count <= 63,
                    name.utf8.allSatisfy({
                        $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    })
                else { throw StoreError(.invalidURL, "postgres store URL: schema must match [a-z_][a-z0-9_]{0,62}") }
                schema = name
            } else {
                if item.hasPrefix("password=") { secrets.append(String(item.dropFirst("password=".count))) }
                if item.hasPrefix("connect_timeout=") { hasTimeout = true }
                kept.append(String(item))
            }
        }
        if !hasTimeout { kept.append("connect_timeout=10") }
        let conninfo = String(url[..<head]) + rest + "?" + kept.joined(separator: "&")
        let displayName = String(scheme) + "://" + hosts + rest[authorityEnd...]
        return ParsedURL(conninfo: conninfo, displayName: displayName, schema: schema, secrets: secrets)
    }
}
