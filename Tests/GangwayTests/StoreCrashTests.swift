import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `kill -9` at random moments while real `gangway` processes write: afterwards the store is consistent
/// (`gangway store check` passes, two counters written in one batch are equal) and the interrupted work can be
/// done again. The file store is the one with a journal to replay; SQLite runs the same campaign.
@Suite("Store crash (kill -9)", .serialized)
struct StoreCrashTests {
    /// Starts `gangway arguments`, kills it with SIGKILL after `delay` (if still running), waits for it.
    static func killed(_ arguments: [String], after delay: Duration) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Bin.gangway)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: delay)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    static func text(_ result: ProcessResult) -> String { result.text.trimmingCharacters(in: .whitespacesAndNewlines) }

    @Test(arguments: ["file", "sqlite"])
    func killedBatchesLeaveTheStoreConsistent(_ kind: String) async throws {
        let scratch = Scratch()
        let store = kind == "file" ? "file:\(scratch.path)/kv" : "sqlite:\(scratch.path)/kv.db"
        _ = try initTenant(store: store, issuer: "https://crash.test/")
        var created = 0
        for round in 0..<12 {
            // Two counters incremented together in batches, killed mid-stream.
            try await Self.killed(
                ["store", "incr", "left", "--and", "right", "--times", "1000000", "--store", store],
                after: .milliseconds(Int.random(in: 60...400)))
            let left = Self.text(try gangway(["store", "get", "left", "--store", store]))
            let right = Self.text(try gangway(["store", "get", "right", "--store", store]))
            #expect(left == right, "round \(round): left \(left), right \(right)")

            // A user registration killed at a random moment (the bcrypt hash comes first, then one batch).
            let email = "u\(round)@crash.test"
            try await Self.killed(
                ["users", "create", "--store", store, "--email", email, "--username", "user\(round)", "--password", "pw-\(round)-secret"],
                after: .milliseconds(Int.random(in: 20...300)))
            let check = try gangway(["store", "check", "--store", store])
            #expect(check.status == 0, "round \(round): \(check.text) \(check.stderr)")
            // The email is either registered or still free, never stuck half-way.
            let again = try gangway(["users", "create", "--store", store, "--email", email, "--password", "pw-\(round)-secret"])
            #expect(again.status == 0 || again.stderr.contains("already exists"), "round \(round): \(again.stderr)")
            if again.status == 0 { created += 1 }
        }
        let check = try gangway(["store", "check", "--store", store])
        #expect(check.status == 0, "\(check.text) \(check.stderr)")
        #expect(Self.text(check) == "ok")
        _ = created
    }
}
