import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// PostgreSQL-only behaviour (the shared behaviour is in StoreConformanceTests): schema migration, reconnection,
/// URL handling. Runs where the conformance suite runs its PostgreSQL backend.
@Suite("PostgreSQL store", .enabled(if: StoreBackend.enabled.contains(.postgres)))
struct PostgresStoreTests {
    private func fresh() throws -> (PostgresStore, String) {
        let url = try StoreBackend.postgres.freshURL()
        return (try PostgresStore(url: url), url)
    }

    @Test func schemaIsVersionedAndMigratedOnce() async throws {
        let url = try StoreBackend.postgres.freshURL()
        // Many instances open a new schema at once: all succeed, and version 1 is recorded once.
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<8 { group.addTask { try PostgresStore(url: url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let store = try #require(stores.first)
        #expect(try store.scalar("SELECT count(*)::int8 FROM gangway_schema_migrations") == 1)
        #expect(try store.scalar("SELECT max(version)::int8 FROM gangway_schema_migrations") == PostgresStore.schemaVersion)
        // The key column sorts bytewise whatever the database's collation.
        #expect(
            try store.scalar(
                "SELECT count(*)::int8 FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation WHERE a.attrelid = 'kv'::regclass AND a.attname = 'key' AND c.collname = 'C'"
            ) == 1)
        // A schema newer than this build is refused rather than used.
        #expect(try store.scalar("INSERT INTO gangway_schema_migrations(version) VALUES(999) RETURNING version::int8") == 999)
        #expect {
            _ = try PostgresStore(url: url)
        } throws: { ($0 as? StoreError)?.code == .unsupported }
    }

    @Test func reconnectsOnceAfterTheConnectionBreaks() async throws {
        let (store, url) = try fresh()
        try await store.put("k", Data("v".utf8))
        let pid = try #require(try store.scalar("SELECT pg_backend_pid()::int8"))
        let other = try PostgresStore(url: url)
        #expect(try other.scalar("SELECT pg_terminate_backend($1::int4)::int4::int8", [.int8(pid)]) == 1)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.get("k")?.value == Data("v".utf8))
        #expect(try store.scalar("SELECT pg_backend_pid()::int8") != pid)
    }

    @Test("a statement with parameters is prepared once per connection, again after a reconnect, and reused")
    func preparesEachStatementOncePerConnection() async throws {
        let (store, url) = try fresh()
        let prepared = "SELECT count(*)::int8 FROM pg_prepared_statements WHERE $1::int8 = $1::int8"
        try await store.put("k", Data("v".utf8))
        let afterOne = try #require(try store.scalar(prepared, [.int8(0)]))
        #expect(afterOne >= 2, "the put and this query, at least")
        for i in 0..<20 { _ = try await store.get("k\(i)") }
        try await store.put("k2", Data("w".utf8))
        // One more statement (the get), however many times it ran.
        #expect(try store.scalar(prepared, [.int8(0)]) == afterOne + 1)

        let pid = try #require(try store.scalar("SELECT pg_backend_pid()::int8"))
        #expect(try PostgresStore(url: url).scalar("SELECT pg_terminate_backend($1::int4)::int4::int8", [.int8(pid)]) == 1)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.get("k")?.value == Data("v".utf8), "prepared again on the new connection")
        #expect(try store.scalar(prepared, [.int8(0)]) == 2, "the get and this query")
    }

    @Test("a lookup prepared while the table was tiny stays an index lookup as the table grows (no sequential scans)")
    func lookupsPreparedOnATinyTableStayIndexLookups() async throws {
        let (store, _) = try fresh()
        for i in 0..<40 { try await store.put("k\(i)", Data("v".utf8)) }
        _ = try store.scalar("ANALYZE kv")
        // More than five executions: PostgreSQL then keeps a generic plan, made on what ANALYZE saw (40 rows).
        for _ in 0..<8 {
            _ = try await store.get("k1")
            _ = try await store.get(many: ["k1", "k2", "k3"])
        }
        _ = try store.scalar("INSERT INTO kv(key, value, version) SELECT 'g' || n, '\\x00', 1 FROM generate_series(1, 5000) n")
        func sequentialScans() throws -> Int64 {
            // This session's counts reach the statistics view at its next transaction end, once forced.
            _ = try store.scalar("SELECT 1::int8 FROM pg_stat_force_next_flush()")
            return try #require(try store.scalar("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'kv'::regclass"))
        }
        let before = try sequentialScans()
        for _ in 0..<20 {
            #expect(try await store.get("k1")?.value == Data("v".utf8))
            #expect(try await store.get(many: ["k2", "g77", "none"]).map { $0 != nil } == [true, true, false])
        }
        #expect(try sequentialScans() == before)
    }

    @Test func errorsNeverCarryThePassword() throws {
        for url in [
            "postgres://gangway:hunter2secret@127.0.0.1:1/none",
            "postgresql://gangway:hunter2%zzsecret@127.0.0.1:1/none",
            "postgres://gangway@127.0.0.1:1/none?password=hunter2secret",
        ] {
            do {
                _ = try Store.open(url: url)
                Issue.record("expected an error for \(url)")
            } catch let error as StoreError {
                #expect(error.code == .unavailable || error.code == .invalidURL)
                #expect(!"\(error)".contains("hunter2"), "\(error)")
            }
        }
    }

    @Test func urlParsing() throws {
        let parsed = try PostgresStore.parse("postgres://u:p%40ss@db.example:5433/app?sslmode=require&schema=gw_1")
        #expect(parsed.schema == "gw_1")
        #expect(parsed.displayName == "postgres://db.example:5433/app")
        #expect(parsed.conninfo == "postgres://u:p%40ss@db.example:5433/app?sslmode=require&connect_timeout=10")
        #expect(parsed.secrets.contains("p%40ss") && parsed.secrets.contains("p@ss"))
        #expect(try PostgresStore.parse("postgresql://h/db?connect_timeout=3").conninfo == "postgresql://h/db?connect_timeout=3")
        #expect(throws: StoreError.self) { try PostgresStore.parse("postgres://h/db?schema=1abc") }
    }

    @Test func prefixUpperBound() {
        #expect(PostgresStore.prefixUpperBound("") == nil)
        #expect(PostgresStore.prefixUpperBound("a/") == "a0")
        #expect(PostgresStore.prefixUpperBound("a\u{D7FF}") == "a\u{E000}")
        #expect(PostgresStore.prefixUpperBound("a\u{10FFFF}") == "b")
        #expect(PostgresStore.prefixUpperBound("\u{10FFFF}") == nil)
    }
}
