import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

private func bytes(_ s: String) -> Data { Data(s.utf8) }
private func text(_ record: StoreRecord?) -> String? { record.map { String(decoding: $0.value, as: UTF8.self) } }

/// `KeyValueStore.commit`: all or nothing, on every backend, in one process and across many.
extension StoreConformanceTests {
    @Test(arguments: StoreBackend.enabled)
    func batchCommitsEveryOperation(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        try await store.put("b", bytes("b1"))
        try await store.put("c", bytes("c1"))
        try await store.put("c", bytes("c2"))
        try await store.put("d", bytes("d1"))
        let outcome = try await store.commit([
            .insertIfAbsent("a", bytes("a1"), ttl: nil),
            .put("b", bytes("b2"), ttl: nil),
            .compareAndSwap("c", expectedVersion: 2, bytes("c3"), ttl: nil),
            .delete("d", expectedVersion: 1),
            .delete("never-there", expectedVersion: nil),
        ])
        #expect(outcome == .committed([1, 2, 3, nil, nil]))
        #expect(try await store.get("a") == StoreRecord(value: bytes("a1"), version: 1))
        #expect(try await store.get("b") == StoreRecord(value: bytes("b2"), version: 2))
        #expect(try await store.get("c") == StoreRecord(value: bytes("c3"), version: 3))
        #expect(try await store.get("d") == nil)
        #expect(try await store.commit([]) == .committed([]))
    }

    @Test(arguments: StoreBackend.enabled)
    func batchWritesNothingWhenAConditionFails(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        try await store.put("taken", bytes("x"))
        try await store.put("counter", bytes("1"))
        let failures: [(StoreOperation, String)] = [
            (.insertIfAbsent("taken", bytes("y"), ttl: nil), "taken"),
            (.compareAndSwap("counter", expectedVersion: 7, bytes("2"), ttl: nil), "counter"),
            (.compareAndSwap("absent", expectedVersion: 1, bytes("2"), ttl: nil), "absent"),
            (.delete("taken", expectedVersion: 9), "taken"),
            (.delete("absent", expectedVersion: 1), "absent"),
        ]
        for (failing, key) in failures {
            // The failing condition second: what comes before and after it must not be written either.
            var operations: [StoreOperation] = [.insertIfAbsent("new-1", bytes("n"), ttl: nil), failing]
            operations.append(.insertIfAbsent("new-2", bytes("n"), ttl: .seconds(60)))
            if key != "counter" { operations.append(.put("counter", bytes("99"), ttl: nil)) }
            if key != "taken" { operations.append(.delete("taken", expectedVersion: nil)) }
            #expect(try await store.commit(operations) == .conditionFailed(index: 1, key: key))
            #expect(try await store.get("new-1") == nil)
            #expect(try await store.get("new-2") == nil)
            #expect(try await store.get("counter") == StoreRecord(value: bytes("1"), version: 1))
            #expect(try await store.get("taken") == StoreRecord(value: bytes("x"), version: 1))
            #expect(try await store.list(prefix: "").map(\.key) == ["counter", "taken"])
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func batchTreatsExpiredAsAbsentAndSetsTTLs(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        try await store.put("old", bytes("stale"), ttl: .seconds(1))
        try await store.put("other", bytes("o"))
        #expect(try await store.commit([.insertIfAbsent("old", bytes("again"), ttl: nil)]).failedKey == "old")
        try await Task.sleep(for: .milliseconds(1500))
        // Expired: a CAS at its old version fails, an insert-if-absent starts again at version 1.
        #expect(try await store.commit([.compareAndSwap("old", expectedVersion: 1, bytes("x"), ttl: nil)]).failedKey == "old")
        #expect(try await store.commit([.delete("old", expectedVersion: 1)]).failedKey == "old")
        let outcome = try await store.commit([
            .insertIfAbsent("old", bytes("fresh"), ttl: .seconds(2)),
            .compareAndSwap("other", expectedVersion: 1, bytes("o2"), ttl: .seconds(3600)),
            .put("short", bytes("s"), ttl: .seconds(2)),
        ])
        #expect(outcome == .committed([1, 2, 1]))
        let other = try #require(try await store.get("other"))
        let expiry = try #require(other.expiresAt).timeIntervalSinceNow
        #expect(expiry > 3500 && expiry <= 3601)
        // TTLs of seconds, not milliseconds: a loaded CI machine must not expire them before this read.
        #expect(try await store.get("old")?.expiresAt != nil)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await store.get("old") == nil)
        #expect(try await store.get("short") == nil)
        #expect(text(try await store.get("other")) == "o2")
    }

    @Test(arguments: StoreBackend.enabled)
    func batchWithAnInvalidKeyWritesNothing(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        let bad = ["nul\u{0}key", String(repeating: "k", count: 513), "", "dup"]
        for key in bad {
            var operations: [StoreOperation] = [
                .insertIfAbsent("first", bytes("1"), ttl: nil), .put("dup", bytes("1"), ttl: nil),
            ]
            operations.append(.put(key, bytes("x"), ttl: nil))
            operations.append(.insertIfAbsent("last", bytes("1"), ttl: nil))
            await #expect {
                try await store.commit(operations)
            } throws: { error in
                (error as? StoreError)?.code == .invalidKey
            }
            #expect(try await store.list(prefix: "").isEmpty)
        }
    }

    // MARK: Cross-process batch races through the `gangway store` CLI

    /// Processes claim two neighbouring keys of a ring in one batch each: every key ends up held by a process
    /// that holds both of its keys, and exactly those processes report success.
    @Test(arguments: StoreBackend.enabled)
    func processBatchRace(_ backend: StoreBackend) async throws {
        let binary = try #require(StoreCLI.binary, "gangway binary not found at \(StoreCLI.binaryPath); build it or set GANGWAY_BIN_DIR")
        let url = try backend.freshURL()
        let ring = 5
        let n = 10
        let results = try await StoreCLI.runConcurrently(
            binary,
            (0..<n).map { i in
                ["store", "batch", "--store", url, "insert", "ring/\(i % ring)", "p\(i)", "insert", "ring/\((i + 1) % ring)", "p\(i)"]
            })
        #expect(results.allSatisfy { $0.status == 0 || $0.status == 3 }, "stderr: \(results.map(\.stderr))")
        let store = try Store.open(url: url)
        let winners = Set(results.indices.filter { results[$0].status == 0 })
        #expect(!winners.isEmpty)
        for i in winners {
            #expect(text(try await store.get("ring/\(i % ring)")) == "p\(i)")
            #expect(text(try await store.get("ring/\((i + 1) % ring)")) == "p\(i)")
        }
        for entry in try await store.list(prefix: "ring/") {
            let holder = Int(String(decoding: entry.record.value, as: UTF8.self).dropFirst())!
            #expect(winners.contains(holder))
        }
    }

    /// Processes increment two counters together (read both, one batch of two compare-and-swaps, retry): the
    /// counters never drift apart and no increment is lost.
    @Test(arguments: StoreBackend.enabled)
    func processBatchIncrementRace(_ backend: StoreBackend) async throws {
        let binary = try #require(StoreCLI.binary, "gangway binary not found at \(StoreCLI.binaryPath); build it or set GANGWAY_BIN_DIR")
        let url = try backend.freshURL()
        let processes = 6
        let increments = 15
        let results = try await StoreCLI.runConcurrently(
            binary, (0..<processes).map { _ in ["store", "incr", "left", "--and", "right", "--times", "\(increments)", "--store", url] })
        #expect(results.allSatisfy { $0.status == 0 }, "stderr: \(results.map(\.stderr))")
        let store = try Store.open(url: url)
        #expect(text(try await store.get("left")) == "\(processes * increments)")
        #expect(text(try await store.get("right")) == "\(processes * increments)")
        #expect(try await store.get("left")?.version == Int64(processes * increments))
    }
}
