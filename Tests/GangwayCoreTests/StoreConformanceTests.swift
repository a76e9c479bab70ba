import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// The backends every conformance test runs against; each test gets a fresh file/directory (or PostgreSQL schema).
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, file, postgres

    var testDescription: String { rawValue }

    /// The server PostgreSQL tests use (`scripts/postgres.sh` starts one and sets it; scripts/test.sh always does).
    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["GANGWAY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// PostgreSQL runs when a server URL is given, and is required (its tests fail without one) under
    /// scripts/test.sh (`GANGWAY_REQUIRE_POSTGRES=1`) and in CI.
    static var postgresRequired: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["GANGWAY_REQUIRE_POSTGRES"] == "1" || env["CI"] == "true"
    }

    static var enabled: [StoreBackend] {
        postgresURL != nil || postgresRequired ? allCases : [.sqlite, .file]
    }

    /// A fresh store URL in a new temp directory (PostgreSQL: a new schema in the test database).
    func freshURL() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-store-\(UUID().uuidString)").path
        switch self {
        case .sqlite: return "sqlite://" + dir + "/kv.db"
        case .file: return "file://" + dir + "/kv"
        case .postgres:
            guard let base = Self.postgresURL else {
                throw StoreError(
                    .unavailable, "GANGWAY_TEST_POSTGRES_URL is not set: run `source scripts/postgres.sh` (scripts/test.sh does)")
            }
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            return base + (base.contains("?") ? "&" : "?") + "schema=" + schema
        }
    }

    func make() throws -> (any KeyValueStore, String) {
        let url = try freshURL()
        return (try Store.open(url: url), url)
    }
}

private func bytes(_ s: String) -> Data { Data(s.utf8) }

@Suite("KeyValueStore conformance")
struct StoreConformanceTests {
    @Test(arguments: StoreBackend.enabled)
    func getMissing(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        #expect(try await store.get("nope") == nil)
        #expect(try await store.list(prefix: "").isEmpty)
    }

    @Test(arguments: StoreBackend.enabled)
    func putGetAndVersions(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        #expect(try await store.put("a", bytes("one")) == 1)
        #expect(try await store.get("a") == StoreRecord(value: bytes("one"), version: 1, expiresAt: nil))
        #expect(try await store.put("a", bytes("two")) == 2)
        #expect(try await store.put("a", bytes("three")) == 3)
        #expect(try await store.get("a") == StoreRecord(value: bytes("three"), version: 3, expiresAt: nil))
        #expect(try await store.put("b", bytes("x")) == 1)
    }

    @Test(arguments: StoreBackend.enabled)
    func insertIfAbsentTwice(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        #expect(try await store.insertIfAbsent("k", bytes("first")))
        #expect(try await !store.insertIfAbsent("k", bytes("second")))
        #expect(try await store.get("k") == StoreRecord(value: bytes("first"), version: 1))
    }

    @Test(arguments: StoreBackend.enabled)
    func insertIfAbsentOverExpired(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        try await store.put("k", bytes("old"), ttl: .milliseconds(50))
        try await store.put("k", bytes("old2"), ttl: .milliseconds(50))
        try await Task.sleep(for: .milliseconds(120))
        #expect(try await store.insertIfAbsent("k", bytes("new")))
        #expect(try await store.get("k") == StoreRecord(value: bytes("new"), version: 1))
        // put over an expired record also starts again at 1.
        try await store.put("p", bytes("old"), ttl: .milliseconds(30))
        try await Task.sleep(for: .milliseconds(80))
        #expect(try await store.put("p", bytes("new")) == 1)
    }

    @Test(arguments: StoreBackend.enabled)
    func compareAndSwap(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        #expect(try await store.compareAndSwap("c", expectedVersion: 1, bytes("x")) == nil)  // absent
        #expect(try await store.get("c") == nil)
        try await store.put("c", bytes("v1"))
        #expect(try await store.compareAndSwap("c", expectedVersion: 2, bytes("bad")) == nil)  // mismatch
        #expect(try await store.compareAndSwap("c", expectedVersion: 0, bytes("bad")) == nil)
        #expect(try await store.compareAndSwap("c", expectedVersion: 1, bytes("v2")) == 2)
        #expect(try await store.compareAndSwap("c", expectedVersion: 1, bytes("bad")) == nil)  // stale
        #expect(try await store.get("c") == StoreRecord(value: bytes("v2"), version: 2))
        // CAS with a ttl sets the expiry; CAS on an expired record fails.
        #expect(try await store.compareAndSwap("c", expectedVersion: 2, bytes("v3"), ttl: .milliseconds(40)) == 3)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.compareAndSwap("c", expectedVersion: 3, bytes("v4")) == nil)
        #expect(try await store.get("c") == nil)
    }

    @Test(arguments: StoreBackend.enabled)
    func delete(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        #expect(try await !store.delete("d"))
        try await store.put("d", bytes("1"))
        #expect(try await store.delete("d"))
        #expect(try await store.get("d") == nil)
        #expect(try await !store.delete("d"))

        try await store.put("d", bytes("1"))
        try await store.put("d", bytes("2"))  // version 2
        #expect(try await !store.delete("d", expectedVersion: 1))
        #expect(try await store.get("d")?.version == 2)
        #expect(try await store.delete("d", expectedVersion: 2))
        #expect(try await store.get("d") == nil)
        #expect(try await !store.delete("d", expectedVersion: 2))
        // After deletion the key is new again.
        #expect(try await store.insertIfAbsent("d", bytes("again")))
        // Expired records are not "deleted".
        try await store.put("e", bytes("x"), ttl: .milliseconds(30))
        try await Task.sleep(for: .milliseconds(80))
        #expect(try await !store.delete("e"))
    }

    @Test(arguments: StoreBackend.enabled)
    func listPrefixOrderAfterLimit(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        for key in ["a/3", "a/1", "a/2", "a0", "a", "b/1", "a/", "a/10", "A/1", "a.x", "a/\u{e9}", "a/z"] {
            try await store.put(key, bytes("v:" + key))
        }
        try await store.put("a/expired", bytes("gone"), ttl: .milliseconds(30))
        try await Task.sleep(for: .milliseconds(80))

        let all = try await store.list(prefix: "a/").map(\.key)
        #expect(all == ["a/", "a/1", "a/10", "a/2", "a/3", "a/z", "a/\u{e9}"])
        #expect(try await store.list(prefix: "a/", after: "a/10").map(\.key) == ["a/2", "a/3", "a/z", "a/\u{e9}"])
        #expect(try await store.list(prefix: "a/", after: "a/1", limit: 2).map(\.key) == ["a/10", "a/2"])
        #expect(try await store.list(prefix: "a/", after: "a/\u{e9}").isEmpty)
        #expect(try await store.list(prefix: "a/", after: "0").map(\.key) == all)  // `after` before the range
        #expect(try await store.list(prefix: "a/", after: "b").isEmpty)  // `after` past the range
        #expect(try await store.list(prefix: "a/", limit: 0).isEmpty)
        #expect(try await store.list(prefix: "a0").map(\.key) == ["a0"])
        #expect(try await store.list(prefix: "a").map(\.key) == ["a", "a.x", "a/", "a/1", "a/10", "a/2", "a/3", "a/z", "a/\u{e9}", "a0"])
        #expect(
            try await store.list(prefix: "").map(\.key) == [
                "A/1", "a", "a.x", "a/", "a/1", "a/10", "a/2", "a/3", "a/z", "a/\u{e9}", "a0", "b/1",
            ])
        let first = try #require(try await store.list(prefix: "b/").first)
        #expect(first == StoreEntry(key: "b/1", record: StoreRecord(value: bytes("v:b/1"), version: 1)))

        // Paging through with after + limit visits everything exactly once, in order.
        var paged: [String] = []
        var cursor: String? = nil
        while true {
            let page = try await store.list(prefix: "", after: cursor, limit: 5)
            paged += page.map(\.key)
            guard page.count == 5 else { break }
            cursor = page.last?.key
        }
        #expect(paged == (try await store.list(prefix: "").map(\.key)))
    }

    @Test("purgeExpired deletes expired records for good and nothing else", arguments: StoreBackend.enabled)
    func purgeExpired(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        try await store.put("gone/1", bytes("a"), ttl: .milliseconds(30))
        try await store.put("gone/2", bytes("b"), ttl: .milliseconds(30))
        try await store.put("kept", bytes("c"), ttl: .seconds(3600))
        try await store.put("forever", bytes("d"))
        try await Task.sleep(for: .milliseconds(80))
        #expect(try await store.purgeExpired() == 2)
        #expect(try await store.purgeExpired() == 0)
        #expect(try await store.list(prefix: "").map(\.key) == ["forever", "kept"])
    }

    @Test(arguments: StoreBackend.enabled)
    func ttlExpiry(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        let before = Date()
        try await store.put("t", bytes("short"), ttl: .seconds(1))
        try await store.put("long", bytes("long"), ttl: .seconds(3600))
        let record = try #require(try await store.get("t"))
        let expiresAt = try #require(record.expiresAt)
        #expect(expiresAt.timeIntervalSince(before) > 0.95 && expiresAt.timeIntervalSince(before) < 2.5)
        #expect(try await store.list(prefix: "").count == 2)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await store.get("t") == nil)
        #expect(try await store.get("long")?.value == bytes("long"))
        #expect(try await store.list(prefix: "").map(\.key) == ["long"])
        // A put without ttl clears a previous expiry.
        try await store.put("long", bytes("forever"))
        #expect(try await store.get("long")?.expiresAt == nil)
    }

    @Test(arguments: StoreBackend.enabled)
    func invalidKeys(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        let bad = ["", String(repeating: "x", count: 513), "a\u{0}b", String(repeating: "\u{e9}", count: 257)]
        for key in bad {
            await expectInvalidKey { _ = try await store.get(key) }
            await expectInvalidKey { try await store.put(key, bytes("v")) }
            await expectInvalidKey { _ = try await store.insertIfAbsent(key, bytes("v")) }
            await expectInvalidKey { _ = try await store.compareAndSwap(key, expectedVersion: 1, bytes("v")) }
            await expectInvalidKey { try await store.delete(key) }
        }
        let longest = String(repeating: "y", count: 512)
        #expect(try await store.put(longest, bytes("ok")) == 1)
        #expect(try await store.get(longest)?.value == bytes("ok"))
    }

    private func expectInvalidKey(_ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected StoreError(.invalidKey)")
        } catch let error as StoreError {
            #expect(error.code == .invalidKey)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func binaryValues(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        let binary = Data([0, 1, 0, 255, 0, 0, 128, 0])
        try await store.put("bin", binary)
        #expect(try await store.get("bin")?.value == binary)
        try await store.put("empty", Data())
        #expect(try await store.get("empty") == StoreRecord(value: Data(), version: 1))
        #expect(try await store.list(prefix: "").map(\.record.value) == [binary, Data()])
    }

    @Test(arguments: StoreBackend.enabled)
    func awkwardKeys(_ backend: StoreBackend) async throws {
        let (store, url) = try backend.make()
        let keys = [
            "users/auth0|123", "a%2Fb", "a/b", "%", "..", ".", ".lock", "-", "Ünïcödé/😀", "café", "cafe\u{301}",
            "UPPER", "upper", "sp ace", "tab\tkey", "k", "h", "kabc", "new\nline",
            String(repeating: "long/", count: 60),  // long encoded name (hashed file name)
            String(repeating: "\u{1F600}", count: 128),  // 512 bytes of emoji
            String(repeating: "long/", count: 60) + "2",
        ]
        for (i, key) in keys.enumerated() { try await store.put(key, bytes("\(i)")) }
        for (i, key) in keys.enumerated() {
            #expect(try await store.get(key)?.value == bytes("\(i)"), "key \(key.debugDescription)")
        }
        // "café" (precomposed) and "cafe\u{301}" are == in Swift but distinct byte strings: distinct keys.
        let listed = try await store.list(prefix: "")
        let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(listed.map { Array($0.key.utf8) } == expected.map { Array($0.utf8) })
        #expect(try await store.list(prefix: "long/").count == 2)
        // A second instance on the same URL sees the same data.
        let again = try Store.open(url: url)
        #expect(try await again.list(prefix: "").count == keys.count)
        #expect(try await again.get(keys[0])?.value == bytes("0"))
    }

    @Test(arguments: StoreBackend.enabled)
    func largeValue(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        var rng = SystemRandomNumberGenerator()
        let big = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try await store.put("big", big)
        #expect(try await store.get("big")?.value == big)
        #expect(try await store.compareAndSwap("big", expectedVersion: 1, big + Data([1])) == 2)
        #expect(try await store.get("big")?.value.count == (1 << 20) + 1)
    }

    @Test(arguments: StoreBackend.enabled)
    func jsonHelpers(_ backend: StoreBackend) async throws {
        struct Thing: Codable, Equatable {
            var name: String
            var count: Int
        }
        let (store, _) = try backend.make()
        #expect(try await store.getJSON(Thing.self, "t") == nil)
        #expect(try await store.insertJSONIfAbsent("t", Thing(name: "a", count: 1)))
        #expect(try await !store.insertJSONIfAbsent("t", Thing(name: "b", count: 2)))
        let (thing, version) = try #require(try await store.getJSON(Thing.self, "t"))
        #expect(thing == Thing(name: "a", count: 1) && version == 1)
        #expect(try await store.compareAndSwapJSON("t", expectedVersion: 1, Thing(name: "a", count: 2)) == 2)
        #expect(try await store.putJSON("t", Thing(name: "z", count: 9)) == 3)
        #expect(try await store.get("t")?.value == bytes(#"{"count":9,"name":"z"}"#))
        try await store.put("bad", bytes("not json"))
        await #expect(throws: StoreError.self) { try await store.getJSON(Thing.self, "bad") }
    }

    @Test(arguments: StoreBackend.enabled)
    func concurrentCASIncrementsInProcess(_ backend: StoreBackend) async throws {
        let (first, url) = try backend.make()
        let second = try Store.open(url: url)  // two instances on one file/dir, like two workers
        let tasks = 12
        let increments = 15
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<tasks {
                let store = t % 2 == 0 ? first : second
                group.addTask {
                    for _ in 0..<increments { try await casIncrement(store, "counter") }
                }
            }
            try await group.waitForAll()
        }
        let record = try #require(try await first.get("counter"))
        #expect(String(decoding: record.value, as: UTF8.self) == "\(tasks * increments)")
        #expect(record.version == Int64(tasks * increments))
    }

    // MARK: Cross-process races through the `gangway store` CLI

    @Test(arguments: StoreBackend.enabled)
    func processInsertRace(_ backend: StoreBackend) async throws {
        let binary = try #require(StoreCLI.binary, "gangway binary not found at \(StoreCLI.binaryPath); build it or set GANGWAY_BIN_DIR")
        let url = try backend.freshURL()
        let n = 8
        let results = try await StoreCLI.runConcurrently(
            binary, (0..<n).map { ["store", "insert", "race", "winner-\($0)", "--store", url] })
        let winners = results.indices.filter { results[$0].status == 0 }
        let losers = results.indices.filter { results[$0].status == 3 }
        #expect(winners.count == 1, "exit statuses: \(results.map(\.status)); stderr: \(results.map(\.stderr))")
        #expect(losers.count == n - 1)
        let store = try Store.open(url: url)
        let record = try #require(try await store.get("race"))
        #expect(record.version == 1)
        if let winner = winners.first {
            #expect(String(decoding: record.value, as: UTF8.self) == "winner-\(winner)")
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func processCASIncrementRace(_ backend: StoreBackend) async throws {
        let binary = try #require(StoreCLI.binary, "gangway binary not found at \(StoreCLI.binaryPath); build it or set GANGWAY_BIN_DIR")
        let url = try backend.freshURL()
        let processes = 6
        let increments = 20
        let results = try await StoreCLI.runConcurrently(
            binary, (0..<processes).map { _ in ["store", "incr", "hits", "--times", "\(increments)", "--store", url] })
        #expect(results.allSatisfy { $0.status == 0 }, "stderr: \(results.map(\.stderr))")
        let record = try #require(try await Store.open(url: url).get("hits"))
        #expect(String(decoding: record.value, as: UTF8.self) == "\(processes * increments)")
        #expect(record.version == Int64(processes * increments))
    }
}

/// Read, add one, compare-and-swap; retry on conflict (creating the counter with insert-if-absent).
private func casIncrement(_ store: any KeyValueStore, _ key: String) async throws {
    while true {
        if let record = try await store.get(key) {
            let next = Int(String(decoding: record.value, as: UTF8.self))! + 1
            if try await store.compareAndSwap(key, expectedVersion: record.version, Data("\(next)".utf8)) != nil { return }
        } else if try await store.insertIfAbsent(key, Data("1".utf8)) {
            return
        }
    }
}

@Suite("Store URLs and file names")
struct StoreURLAndNameTests {
    @Test func openURLs() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-url-\(UUID().uuidString)").path
        #expect(try Store.open(url: "sqlite://\(tmp)/a/b.db") is SQLiteStore)
        #expect(FileManager.default.fileExists(atPath: "\(tmp)/a/b.db"))
        #expect(try Store.open(url: "file://\(tmp)/dir") is FileStore)
        #expect(try Store.path(of: "sqlite:relative/x.db", scheme: "sqlite") == "relative/x.db")
        #expect(try Store.path(of: "file:rel/dir", scheme: "file") == "rel/dir")
        #expect(try Store.path(of: "file:///abs/dir", scheme: "file") == "/abs/dir")
        #expect(try Store.path(of: "sqlite:///abs/my%20db.db", scheme: "sqlite") == "/abs/my db.db")
        #expect(try Store.path(of: "sqlite:///abs.db", scheme: "file") == nil)
        for (url, code) in [
            ("postgres://u:pw@127.0.0.1:1/db", StoreError.Code.unavailable), ("postgresql://127.0.0.1:1/db", .unavailable),
            ("postgres://127.0.0.1:1/db?schema=Bad-Name", .invalidURL),
            ("redis://x", .invalidURL), ("sqlite://host/x.db", .invalidURL), ("sqlite:", .invalidURL), ("", .invalidURL),
        ] {
            #expect(throws: StoreError.self) { try Store.open(url: url) }
            do { _ = try Store.open(url: url) } catch let error as StoreError { #expect(error.code == code, "\(url)") } catch {}
        }
    }

    @Test func fileNamesRoundTripAndAreCaseSafe() {
        for key in ["a", "A", "users/auth0|1", "%41", "é", "😀", ".", "..", "a b"] {
            let name = FileStore.fileName(for: key)
            #expect(name.hasPrefix("k"))
            #expect(FileStore.decodeName(name).map { Array($0.utf8) } == Array(key.utf8))
            #expect(name.lowercased() == name || name.contains("%"))
        }
        #expect(FileStore.fileName(for: "A").lowercased() != FileStore.fileName(for: "a").lowercased())
        let long = FileStore.fileName(for: String(repeating: "/", count: 100))
        #expect(long.hasPrefix("h") && long.utf8.count == 65)
    }
}

/// Locating and running the `gangway` CLI for cross-process tests.
enum StoreCLI {
    static var binaryPath: String {
        if let dir = ProcessInfo.processInfo.environment["GANGWAY_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir).appendingPathComponent("gangway").path
        }
        // <package root>/Tests/GangwayCoreTests/<this file>
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/gangway").path
    }

    static var binary: String? {
        FileManager.default.isExecutableFile(atPath: binaryPath) ? binaryPath : nil
    }

    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts every command, holds them at a barrier (a shell waiting on stdin), releases them together,
    /// and waits for all (failing after 120 s).
    static func runConcurrently(_ binary: String, _ argumentLists: [[String]]) async throws -> [Result] {
        var running: [(Process, Pipe, Pipe, Pipe)] = []
        for arguments in argumentLists {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", #"read _ ; exec "$0" "$@""#, binary] + arguments
            let (input, output, error) = (Pipe(), Pipe(), Pipe())
            process.standardInput = input
            process.standardOutput = output
            process.standardError = error
            try process.run()
            running.append((process, input, output, error))
        }
        try await Task.sleep(for: .milliseconds(100))  // let every shell reach `read`
        for (_, input, _, _) in running { input.fileHandleForWriting.write(Data("go\n".utf8)) }
        for (_, input, _, _) in running { try input.fileHandleForWriting.close() }
        var results: [Result] = []
        let deadline = Date().addingTimeInterval(120)
        for (process, _, output, error) in running {
            while process.isRunning {
                if Date() > deadline {
                    process.terminate()
                    Issue.record("process timed out")
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            process.waitUntilExit()
            results.append(
                Result(
                    status: process.terminationStatus,
                    stdout: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                    stderr: String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)))
        }
        return results
    }
}
