import ArgumentParser
import Foundation
import GangwayAuth0

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `gangway store ...`: inspect and modify a key-value store from the shell (and race it from tests).
///
/// Exit codes: 0 done; 3 the condition did not hold (get: no such key; insert: key existed;
/// delete: nothing deleted / version mismatch; cas: version mismatch; batch: a condition failed);
/// `check`: 1 when an invariant is violated; other non-zero: error.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Read and write the key-value store.",
        subcommands: [Get.self, Put.self, Insert.self, Delete.self, List.self, Incr.self, Batch.self, Purge.self, Check.self]
    )

    /// Exit code when the operation's condition did not hold.
    static let conditionFailed = ExitCode(3)

    struct Options: ParsableArguments {
        @Option(name: .long, help: "Store URL (sqlite:///abs.db, sqlite:rel.db, file:///dir, file:dir). Defaults to $GANGWAY_STORE.")
        var store: String?

        func open() throws -> any KeyValueStore {
            guard let url = store ?? getenv("GANGWAY_STORE").map({ String(cString: $0) }), !url.isEmpty else {
                throw ValidationError("--store URL is required (or set GANGWAY_STORE)")
            }
            return try Store.open(url: url)
        }
    }

    static func ttl(_ seconds: Double?) -> Duration? {
        seconds.map { Duration.milliseconds(Int64(($0 * 1000).rounded())) }
    }

    static func write(_ text: String) {
        print(text)
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a key's value (exit 3 if absent).")
        @OptionGroup var options: Options
        @Argument var key: String
        @Flag(help: "Print the version before the value, tab-separated.") var showVersion = false

        func run() async throws {
            guard let record = try await options.open().get(key) else { throw StoreCommand.conditionFailed }
            let value = String(decoding: record.value, as: UTF8.self)
            StoreCommand.write(showVersion ? "\(record.version)\t\(value)" : value)
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a value; prints the new version.")
        @OptionGroup var options: Options
        @Argument var key: String
        @Argument var value: String
        @Option(help: "Expire after this many seconds.") var ttl: Double?

        func run() async throws {
            let version = try await options.open().put(key, Data(value.utf8), ttl: StoreCommand.ttl(ttl))
            StoreCommand.write("\(version)")
        }
    }

    struct Insert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a value only if the key is absent (exit 3 if it existed).")
        @OptionGroup var options: Options
        @Argument var key: String
        @Argument var value: String
        @Option(help: "Expire after this many seconds.") var ttl: Double?

        func run() async throws {
            guard try await options.open().insertIfAbsent(key, Data(value.utf8), ttl: StoreCommand.ttl(ttl)) else {
                throw StoreCommand.conditionFailed
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key (exit 3 if nothing was deleted).")
        @OptionGroup var options: Options
        @Argument var key: String
        @Option(name: .customLong("version"), help: "Only if the current version is this.") var expectedVersion: Int64?

        func run() async throws {
            guard try await options.open().delete(key, expectedVersion: expectedVersion) else {
                throw StoreCommand.conditionFailed
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List entries by key prefix: key<TAB>version<TAB>value per line.")
        @OptionGroup var options: Options
        @Option(help: "Key prefix.") var prefix: String = ""
        @Option(help: "Start strictly after this key.") var after: String?
        @Option(help: "At most this many entries (default: all of them, read 1,000 at a time).") var limit: Int?

        func run() async throws {
            let store = try options.open()
            var cursor = after
            var remaining = limit ?? Int.max
            while remaining > 0 {
                let want = min(1000, remaining)
                let page = try await store.list(prefix: prefix, after: cursor, limit: want)
                for entry in page {
                    StoreCommand.write("\(entry.key)\t\(entry.record.version)\t\(String(decoding: entry.record.value, as: UTF8.self))")
                }
                remaining -= page.count
                guard page.count == want, let last = page.last else { return }  // nothing more under the prefix
                cursor = last.key
            }
            // `--limit` stopped the listing: never silently, say where to go on.
            if let cursor, try await !store.list(prefix: prefix, after: cursor, limit: 1).isEmpty {
                FileHandle.standardError.write(Data("more entries follow; continue with --after '\(cursor)'\n".utf8))
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete expired records for good; prints how many (run it from cron or a schedule).")
        @OptionGroup var options: Options

        func run() async throws {
            StoreCommand.write("purged\t\(try await options.open().purgeExpired())")
        }
    }

    struct Incr: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Increment a decimal counter value with compare-and-swap (retrying on conflicts); prints the last value written.")
        @OptionGroup var options: Options
        @Argument var key: String
        @Option(name: [.customShort("k"), .long], help: "How many increments.") var times: Int = 1
        @Option(help: "Amount per increment.") var by: Int64 = 1
        @Option(name: .customLong("and"), help: "A second counter incremented with the first, in one atomic batch.") var other: String?

        func run() async throws {
            let store = try options.open()
            var last: Int64 = 0
            if let other {
                for _ in 0..<times { last = try await Self.incrementBoth(store, [key, other], by: by) }
                StoreCommand.write("\(last)")
                return
            }
            for _ in 0..<times {
                while true {
                    if let record = try await store.get(key) {
                        guard let current = Int64(String(decoding: record.value, as: UTF8.self)) else {
                            throw ValidationError("value at \(key) is not a decimal integer")
                        }
                        let next = current + by
                        if try await store.compareAndSwap(key, expectedVersion: record.version, Data(String(next).utf8)) != nil {
                            last = next
                            break
                        }
                    } else if try await store.insertIfAbsent(key, Data(String(by).utf8)) {
                        last = by
                        break
                    }
                }
            }
            StoreCommand.write("\(last)")
        }

        /// Reads both counters and writes both incremented in one batch (insert-if-absent for a missing one),
        /// retrying when another writer got there first; the first counter's new value.
        static func incrementBoth(_ store: any KeyValueStore, _ keys: [String], by: Int64) async throws -> Int64 {
            while true {
                var operations: [StoreOperation] = []
                var first: Int64 = 0
                for key in keys {
                    let record = try await store.get(key)
                    let current = try record.map {
                        guard let n = Int64(String(decoding: $0.value, as: UTF8.self)) else {
                            throw ValidationError("value at \(key) is not a decimal integer")
                        }
                        return n
                    }
                    let next = Data(String((current ?? 0) + by).utf8)
                    if operations.isEmpty { first = (current ?? 0) + by }
                    operations.append(
                        record.map { .compareAndSwap(key, expectedVersion: $0.version, next, ttl: nil) }
                            ?? .insertIfAbsent(key, next, ttl: nil))
                }
                if try await store.commit(operations).committed { return first }
            }
        }
    }

    struct Batch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply several writes atomically: all or none (exit 3, printing the key whose condition failed).",
            discussion: """
                Operations, in order: insert KEY VALUE | put KEY VALUE | cas KEY VERSION VALUE | delete KEY VERSION|-
                Prints the version each wrote (- for a delete), tab-separated.
                """)
        @OptionGroup var options: Options
        @Argument(parsing: .allUnrecognized) var words: [String]

        func run() async throws {
            var operations: [StoreOperation] = []
            var rest = words[...]
            func take(_ what: String) throws -> String {
                guard let word = rest.popFirst() else { throw ValidationError("missing \(what)") }
                return word
            }
            while let op = rest.popFirst() {
                switch op {
                case "insert": operations.append(.insertIfAbsent(try take("key"), Data(try take("value").utf8), ttl: nil))
                case "put": operations.append(.put(try take("key"), Data(try take("value").utf8), ttl: nil))
                case "cas":
                    let key = try take("key")
                    guard let version = Int64(try take("version")) else { throw ValidationError("cas: version must be an integer") }
                    operations.append(.compareAndSwap(key, expectedVersion: version, Data(try take("value").utf8), ttl: nil))
                case "delete":
                    let key = try take("key")
                    let version = try take("version")
                    operations.append(.delete(key, expectedVersion: version == "-" ? nil : Int64(version)))
                default: throw ValidationError("unknown batch operation '\(op)' (insert, put, cas, delete)")
                }
            }
            switch try await options.open().commit(operations) {
            case .committed(let versions): StoreCommand.write(versions.map { $0.map(String.init) ?? "-" }.joined(separator: "\t"))
            case .conditionFailed(_, let key):
                StoreCommand.write("failed\t\(key)")
                throw StoreCommand.conditionFailed
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the store's multi-record invariants (logins, linked accounts, refresh tokens); exit 1 on a violation.")
        @OptionGroup var options: Options

        func run() async throws {
            let violations = try await StoreInvariants(store: options.open()).check()
            for violation in violations { StoreCommand.write("violation\t\(violation)") }
            guard violations.isEmpty else { throw ExitCode.failure }
            StoreCommand.write("ok")
        }
    }
}
