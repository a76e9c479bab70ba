import Foundation
import Testing

@testable import GangwayPlatform

/// The CLI's streaming reader: a JSON array and NDJSON give the same records, whatever the read block boundaries.
@Suite("JSONRecords")
struct JSONRecordsTests {
    static func all(_ text: String) throws -> [String] {
        var records = JSONRecords(bytes: Array(text.utf8))
        var out: [String] = []
        while let record = try records.next() { out.append(String(decoding: record, as: UTF8.self)) }
        return out
    }

    @Test func anArrayAndNDJSONGiveTheSameRecords() throws {
        let users = [#"{"email":"a@example.com","name":"A [x], {y}"}"#, #"{"email":"b@example.com","note":"quote \" and \\"}"#]
        #expect(try Self.all("[" + users.joined(separator: ",\n ") + "]") == users)
        #expect(try Self.all(users.joined(separator: "\n") + "\n") == users)
        #expect(try Self.all("  \n[ ]\n") == [])
        #expect(try Self.all("") == [])
    }

    @Test func brokenFilesFailWithTheirOffsetInsteadOfGuessing() {
        #expect(throws: JSONRecords.Failure.self) { try Self.all(#"[{"email":"a@example.com"}"#) }
        #expect(throws: JSONRecords.Failure.self) { try Self.all(#"[{"a":1} {"b":2}]"#) }
        #expect(throws: JSONRecords.Failure.self) { try Self.all(#"[{"a":1}] trailing"#) }
        #expect(throws: JSONRecords.Failure.self) { try Self.all(#"{"a":"unterminated}"#) }
    }

    @Test("a stream given block by block (empty blocks too) frames the same records; its read error fails the file")
    func aStreamOfBlocks() throws {
        let lines = (0..<500).map { #"{"user_id":"auth0|\#($0)","pad":""# + String(repeating: "y", count: $0 % 41) + #""}"# }
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        for size in [1, 7, 4096] {
            var offset = 0
            var calls = 0
            var records = JSONRecords(blocks: {
                calls += 1
                if calls % 3 == 0 { return [] }  // a block that decompressed to nothing
                guard offset < bytes.count else { return nil }
                defer { offset += size }
                return Array(bytes[offset..<min(offset + size, bytes.count)])
            })
            var read: [String] = []
            while let record = try records.next() { read.append(String(decoding: record, as: UTF8.self)) }
            #expect(read == lines)
        }
        struct Broken: Error {}
        var calls = 0
        var failing = JSONRecords(blocks: {
            calls += 1
            if calls > 1 { throw Broken() }
            return Array(#"{"a":1}"#.utf8) + Array(#"{"b":"#.utf8)
        })
        #expect(try failing.next() != nil)
        #expect(throws: JSONRecords.Failure.self) { try failing.next() }
        var empty = JSONRecords(blocks: { nil })
        #expect(try empty.next() == nil)
    }

    @Test func aFileIsReadInBlocksWithRecordsSpanningThem() throws {
        // 3,000 records of ~100 bytes: many 64 KiB blocks, records cut at block boundaries.
        let lines = (0..<3000).map { #"{"email":"user\#($0)@example.com","pad":""# + String(repeating: "x", count: $0 % 97) + #""}"# }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString).json")
        try Data(("[" + lines.joined(separator: ",") + "]").utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fd = open(url.path, O_RDONLY)
        defer { close(fd) }
        var records = JSONRecords(descriptor: fd)
        var read: [String] = []
        while let record = try records.next() { read.append(String(decoding: record, as: UTF8.self)) }
        #expect(read == lines)
        #expect(records.layout == .array)
    }
}

/// The import job's upload: Auth0's SDKs send the users file and the fields as multipart/form-data.
@Suite("MultipartForm")
struct MultipartFormTests {
    @Test func partsAreFoundByNameWithTheirFileNames() throws {
        let body = Array(
            ("--XyZ\r\nContent-Disposition: form-data; name=\"users\"; filename=\"users.json\"\r\nContent-Type: application/json\r\n\r\n"
                + "[{\"email\":\"a@example.com\"}]\r\n--XyZ\r\nContent-Disposition: form-data; name=\"upsert\"\r\n\r\ntrue\r\n--XyZ--\r\n")
                .utf8)
        let form = try #require(MultipartForm(contentType: "multipart/form-data; boundary=XyZ", body: body))
        #expect(form["users"]?.filename == "users.json")
        #expect(form["users"]?.text == #"[{"email":"a@example.com"}]"#)
        #expect(form["upsert"]?.text == "true")
        #expect(form["connection_id"] == nil)
    }

    @Test func somethingElseIsNotAForm() {
        #expect(MultipartForm(contentType: "application/json", body: Array("{}".utf8)) == nil)
        #expect(MultipartForm(contentType: "multipart/form-data; boundary=a", body: Array("--a\r\nno end".utf8)) == nil)
    }
}
