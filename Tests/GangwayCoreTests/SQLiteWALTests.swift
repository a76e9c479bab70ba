import Foundation
import Testing

@testable import GangwayPlatform

@Suite("SQLite write-ahead log")
struct SQLiteWALTests {
    private static func walBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
    }

    /// Without the truncation the WAL of this run reaches ~600 frames (2.4 MB): SQLite's own checkpoint waits for 1,000.
    @Test("a writer truncates the WAL once it passes 128 frames, so the next cold process never reads a long one")
    func walStaysShort() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-wal-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/kv.db"
        let writer = try SQLiteStore(path: path)
        // A second connection, as a warm worker holds: it keeps reading while the writer truncates.
        let reader = try SQLiteStore(path: path)
        var longest = 0
        for i in 0..<600 {
            try await writer.put("k\(i)", Data(repeating: UInt8(i % 251), count: 3000), ttl: nil)
            longest = max(longest, Self.walBytes(path))
            if i % 50 == 0 { #expect(try await reader.get("k\(i)")?.value.count == 3000) }
        }
        let frame = 4096 + 24
        #expect(longest > 0)
        #expect(longest <= 32 + (Int(SQLiteStore.walTruncateFrames) + 16) * frame, "longest WAL: \(longest) bytes")
        #expect(try await reader.get("k599")?.value == Data(repeating: UInt8(599 % 251), count: 3000))
        #expect(try await writer.list(prefix: "k", after: nil, limit: 1000).count == 600)
    }
}
