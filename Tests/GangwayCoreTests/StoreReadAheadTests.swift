import Foundation
import Testing

@testable import GangwayPlatform

private func bytes(_ s: String) -> Data { Data(s.utf8) }

@Suite("Reads made together: get(many:) and ReadAheadStore")
struct StoreReadAheadTests {
    @Test(arguments: StoreBackend.enabled)
    func getManyAnswersInTheOrderAskedWithAbsentAndExpiredAsNil(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        // Keys a PostgreSQL array literal must quote: quotes, backslashes, braces, commas, spaces, NULL.
        let awkward = ["a\"b", "back\\slash", "{brace}", "com,ma", "sp ace", "NULL", "café", "cafe\u{301}"]
        for (i, key) in awkward.enumerated() { try await store.put(key, bytes("v\(i)")) }
        try await store.put("gone", bytes("old"), ttl: .milliseconds(30))
        try await Task.sleep(for: .milliseconds(80))
        let asked = ["missing"] + awkward.reversed() + ["gone", "NULL"]
        let records = try await store.get(many: asked)
        let expected: [String?] = [nil] + awkward.indices.reversed().map { "v\($0)" } + [nil, "v5"]
        #expect(records.map { $0.map { String(decoding: $0.value, as: UTF8.self) } } == expected)
        #expect(records[1]?.version == 1)
        #expect(try await store.get(many: []).isEmpty)
    }

    @Test(arguments: StoreBackend.enabled)
    func getManyRefusesTheWholeReadWhenOneKeyIsInvalid(_ backend: StoreBackend) async throws {
        let (store, _) = try backend.make()
        try await store.put("a", bytes("1"))
        await #expect(throws: StoreError.self) { try await store.get(many: ["a", String(repeating: "k", count: 513)]) }
        await #expect(throws: StoreError.self) { try await store.get(many: ["a", ""]) }
    }

    @Test(arguments: StoreBackend.enabled)
    func aRecordReadAheadIsServedOnceFromTheFetch(_ backend: StoreBackend) async throws {
        let (real, _) = try backend.make()
        try await real.put("app", bytes("app-1"))
        try await real.put("keys", bytes("keys-1"))
        let view = ReadAheadStore(real)
        try await view.readAhead(["app", "keys", "absent", String(repeating: "k", count: 600)])
        // Changed behind the view's back after the fetch: what was fetched answers the first read only.
        try await real.put("app", bytes("app-2"))
        try await real.put("absent", bytes("now-here"))
        #expect(try await view.get("app")?.value == bytes("app-1"))
        #expect(try await view.get("absent") == nil)
        #expect(try await view.get("app")?.value == bytes("app-2"))
        #expect(try await view.get("absent")?.value == bytes("now-here"))
        #expect(try await view.get(many: ["keys", "keys"]).map { $0?.value } == [bytes("keys-1"), bytes("keys-1")])
        // The key the store refuses was not fetched (nor did it spoil the fetch): reading it fails as it always did.
        await #expect(throws: StoreError.self) { try await view.get(String(repeating: "k", count: 600)) }
    }

    @Test(arguments: StoreBackend.enabled)
    func aWriteThroughTheViewDropsWhatWasReadAhead(_ backend: StoreBackend) async throws {
        let (real, _) = try backend.make()
        try await real.put("a", bytes("1"))
        try await real.put("b", bytes("1"))
        try await real.put("c", bytes("1"))
        let view = ReadAheadStore(real)
        try await view.readAhead(["a", "b", "c"])
        try await view.put("a", bytes("2"))
        _ = try await view.commit([.put("b", bytes("2"), ttl: nil)])
        #expect(try await view.get("a")?.value == bytes("2"))
        #expect(try await view.get("b")?.value == bytes("2"))
        #expect(try await view.get(many: ["c", "a"]).map { $0?.value } == [bytes("1"), bytes("2")])
    }

    @Test func aStoreThatIsNotAReadAheadViewIgnoresTheHint() async throws {
        let (real, _) = try StoreBackend.sqlite.make()
        try await real.readAhead(["a", String(repeating: "k", count: 600)])
        #expect(try await real.get("a") == nil)
    }
}
