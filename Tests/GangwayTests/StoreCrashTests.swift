import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `kill -9` at random moments while real `gangway` processes write: afterwards the store is consistent
/// (`gangway store check` passes, two counters written in one batch are equal) and the interrupted work can be
/// done again. The file store is the one with a journal to replay; SQLite and PostgreSQL (a client killed inside
/// its transaction) run the same campaign.
@Suite("Store crash (kill -9)", .serialized)
struct StoreCrashTests {
    /// Starts `gangway arguments`, kills it with SIGKILL after `delay` (if still running), waits for it.
    static func killed(_ arguments: [String], after delay: Duration) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Bin.gangway)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: delay)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    static func text(_ result: ProcessResult) -> String { result.text.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// A store that is not a local file has no `secret.key` beside it: the key comes from the environment.
    static let environment = ["GANGWAY_SECRET_KEY": String(repeating: "A", count: 43)]

    static func gangway(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(Bin.gangway, arguments, environment: environment)
    }

    /// PostgreSQL joins when a server is given (scripts/test.sh and CI always give one).
    static var kinds: [String] {
        let url = ProcessInfo.processInfo.environment["GANGWAY_TEST_POSTGRES_URL"] ?? ""
        return ["file", "sqlite"] + (url.isEmpty ? [] : ["postgres"])
    }

    static func storeURL(_ kind: String, _ scratch: Scratch) -> String {
        switch kind {
        case "file": return "file:\(scratch.path)/kv"
        case "sqlite": return "sqlite:\(scratch.path)/kv.db"
        default:
            let base = ProcessInfo.processInfo.environment["GANGWAY_TEST_POSTGRES_URL"] ?? ""
            let schema = "crash_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            return base + (base.contains("?") ? "&" : "?") + "schema=" + schema
        }
    }

    @Test(arguments: kinds)
    func killedBatchesLeaveTheStoreConsistent(_ kind: String) async throws {
        let scratch = Scratch()
        let store = Self.storeURL(kind, scratch)
        let initialised = try Self.gangway(["init", "--store", store, "--issuer", "https://crash.test/", "--json"])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        var created = 0
        for round in 0..<12 {
            // Two counters incremented together in batches, killed mid-stream.
            try await Self.killed(
                ["store", "incr", "left", "--and", "right", "--times", "1000000", "--store", store],
                after: .milliseconds(Int.random(in: 60...400)))
            let left = Self.text(try Self.gangway(["store", "get", "left", "--store", store]))
            let right = Self.text(try Self.gangway(["store", "get", "right", "--store", store]))
            #expect(left == right, "round \(round): left \(left), right \(right)")

            // A user registration killed at a random moment (the bcrypt hash comes first, then one batch).
            let email = "u\(round)@crash.test"
            try await Self.killed(
                ["users", "create", "--store", store, "--email", email, "--username", "user\(round)", "--password", "pw-\(round)-secret"],
                after: .milliseconds(Int.random(in: 20...300)))
            let check = try Self.gangway(["store", "check", "--store", store])
            #expect(check.status == 0, "round \(round): \(check.text) \(check.stderr)")
            // The email is either registered or still free, never stuck half-way.
            let again = try Self.gangway(["users", "create", "--store", store, "--email", email, "--password", "pw-\(round)-secret"])
            #expect(again.status == 0 || again.stderr.contains("already exists"), "round \(round): \(again.stderr)")
            if again.status == 0 { created += 1 }
        }
        let check = try Self.gangway(["store", "check", "--store", store])
        #expect(check.status == 0, "\(check.text) \(check.stderr)")
        #expect(Self.text(check) == "ok")
        _ = created
    }
}
