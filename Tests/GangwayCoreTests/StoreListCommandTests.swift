import Foundation
import Testing

@testable import GangwayPlatform

@Suite("gangway store list")
struct StoreListCommandTests {
    @Test("lists every entry past 1,000 without --limit; with --limit it says where the rest continues")
    func pagesAndNeverStopsSilently() async throws {
        let binary = try #require(StoreCLI.binary, "gangway binary not found at \(StoreCLI.binaryPath)")
        let url = "sqlite:" + FileManager.default.temporaryDirectory.path + "/gangway-list-\(UUID().uuidString).db"
        let store = try Store.open(url: url)
        for i in 0..<1_205 { try await store.put("k/" + String(format: "%05d", i), Data("v\(i)".utf8)) }
        try await store.put("other", Data("x".utf8))

        let all = try await StoreCLI.runConcurrently(binary, [["store", "list", "--store", url, "--prefix", "k/"]])[0]
        #expect(all.status == 0)
        let keys = all.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
        #expect(keys.count == 1_205 && keys.first == "k/00000" && keys.last == "k/01204")
        #expect(all.stderr.isEmpty)

        let cut = try await StoreCLI.runConcurrently(binary, [["store", "list", "--store", url, "--prefix", "k/", "--limit", "10"]])[0]
        #expect(cut.stdout.split(separator: "\n").count == 10)
        #expect(cut.stderr.contains("continue with --after 'k/00009'"))

        let exact = try await StoreCLI.runConcurrently(
            binary, [["store", "list", "--store", url, "--prefix", "k/", "--after", "k/01200"]])[0]
        #expect(exact.stdout.split(separator: "\n").count == 4 && exact.stderr.isEmpty)
    }
}
