import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway users import FILE` and `gangway users export`: bulk users over the same core as the jobs
/// (`UserImport`, `UserExport`), for files of any size. The file is streamed (`JSONRecords`), a chunk of users at
/// a time, so memory stays flat whatever its size. A progress line (rows, rate, ETA) goes to a terminal's stderr;
/// off a terminal the commands are quiet and print one JSON summary on stdout.
extension UsersCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import users from a JSON array or NDJSON file in Auth0's import schema (any size).",
            discussion: """
                Prints a JSON summary {total, inserted, updated, failed, seconds, users_per_second, errors_file}. Users that \
                fail go to the errors file as NDJSON ({row, user, errors}), secrets redacted; the import goes on.
                """)
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Argument(help: "The users file: a JSON array (Auth0's import format) or NDJSON (Auth0's export format).") var file: String
        @Option(help: "The database connection (default: the tenant's default connection).") var connection: String?
        @Flag(help: "Update users that exist (matched by email) instead of failing them, as Auth0's upsert.") var upsert = false
        @Option(help: "Where failed users go (default: FILE.errors.ndjson; written only when some fail).") var errors: String?
        @Option(help: "Users per store batch.") var chunkSize = 500

        func run() async throws {
            let store = try store.open()
            let tenant = try await tenant.resolve(in: store)
            let name = connection ?? tenant.defaultConnection
            guard let connection = try await PasswordLogin(store: store, tenant: tenant).connection(named: name) else {
                throw ValidationError("No database connection named \(name).")
            }
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw ValidationError("Cannot open \(file).") }
            defer { close(fd) }
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
            let importer = UserImport(directory: UserDirectory(store: store, tenant: tenant), connection: connection, upsert: upsert)
            var records = JSONRecords(descriptor: fd)
            let errorsPath = errors ?? file + ".errors.ndjson"
            var errorsFile: FileHandle?
            defer { try? errorsFile?.close() }
            var summary = Job.Summary()
            let progress = Progress(total: size)
            var row = 0
            var failure: String?
            while true {
                var chunk: [(index: Int, value: JSONValue)] = []
                var unreadable: [(Int, [UInt8])] = []
                do {
                    while chunk.count + unreadable.count < max(1, chunkSize), let bytes = try records.next() {
                        if let value = try? JSON.decode(JSONValue.self, from: Data(bytes)) {
                            chunk.append((row, value))
                        } else {
                            unreadable.append((row, bytes))
                        }
                        row += 1
                    }
                } catch {
                    failure = "\(file): \(error.description) at byte \(error.offset)"
                }
                var failed: [(Int, ImportRow)] = unreadable.map { index, _ in
                    (
                        index,
                        ImportRow(
                            outcome: .failed,
                            errors: [UserImportError(code: "INVALID_FORMAT", message: "The record is not valid JSON.", path: "")])
                    )
                }
                if !chunk.isEmpty {
                    var seen = UserImport.Seen()  // per chunk: memory stays flat; the store refuses later duplicates
                    let results = try await importer.apply(chunk, seen: &seen)
                    for (i, result) in results.enumerated() {
                        switch result.outcome {
                        case .inserted: summary.inserted += 1
                        case .updated: summary.updated += 1
                        case .failed: failed.append((chunk[i].index, result))
                        }
                    }
                }
                summary.failed += failed.count
                summary.total += chunk.count + unreadable.count
                if !failed.isEmpty {
                    if errorsFile == nil {
                        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil, attributes: [.posixPermissions: 0o600])
                        errorsFile = FileHandle(forWritingAtPath: errorsPath)
                    }
                    for (index, result) in failed.sorted(by: { $0.0 < $1.0 }) {
                        let line: JSONValue = [
                            "row": .int(Int64(index)), "user": result.user ?? .null,
                            "errors": .array((result.errors ?? []).map(\.managementJSON)),
                        ]
                        errorsFile?.write(try JSON.encode(line) + Data("\n".utf8))
                    }
                }
                progress.update(rows: summary.total, bytes: records.bytesRead)
                if chunk.isEmpty && unreadable.isEmpty || failure != nil { break }
            }
            progress.finish()
            let seconds = progress.elapsed
            var out: [String: JSONValue] = [
                "total": .int(Int64(summary.total)), "inserted": .int(Int64(summary.inserted)), "updated": .int(Int64(summary.updated)),
                "failed": .int(Int64(summary.failed)), "seconds": .double((seconds * 1000).rounded() / 1000),
                "users_per_second": .int(Int64(seconds > 0 ? Double(summary.total) / seconds : 0)),
            ]
            if errorsFile != nil { out["errors_file"] = .string(errorsPath) }
            if let failure { out["error"] = .string(failure) }
            try printJSON(JSONValue.object(out))
            if failure != nil { throw ExitCode(1) }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export users as NDJSON or CSV (Auth0's export formats), or with their password hashes in Auth0's import schema.",
            discussion: """
                --with-password-hashes writes NDJSON in Auth0's import schema, each user with its bcrypt `password_hash` \
                (or the `custom_password_hash` it was imported with): the file `gangway users import` or Auth0's import job \
                takes back, so a tenant leaves Gangway the way it came. It holds every user's hash: keep it like the store.
                """)
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "json (NDJSON) or csv.") var format = "json"
        @Option(help: "Comma-separated fields (dotted paths such as identities[0].connection); default: Auth0's set.") var fields: String?
        @Option(help: "Only users of this connection.") var connection: String?
        @Option(help: "At most this many users.") var limit: Int?
        @Flag(help: "Auth0's import schema with each user's password hash (operators only; see above).") var withPasswordHashes = false
        @Flag(help: "Only users still pending (no password hash yet: they need the old tenant), for a final reset campaign.")
        var pending = false
        @Option(help: "Write to this file (mode 0600) instead of stdout.") var output: String?

        func validate() throws {
            guard let kind = UserExport.Format(rawValue: format) else { throw ValidationError("--format must be json or csv") }
            if withPasswordHashes && pending { throw ValidationError("pending users have no password hash to export") }
            if withPasswordHashes && (kind != .json || fields != nil) {
                throw ValidationError("--with-password-hashes writes Auth0's import schema as NDJSON: no --format csv, no --fields")
            }
            if kind == .csv, let fields, fields.split(separator: ",").count > UserExport.maxCSVFields {
                throw ValidationError("CSV exports hold at most \(UserExport.maxCSVFields) fields")
            }
        }

        func run() async throws {
            let store = try store.open()
            let tenant = try await tenant.resolve(in: store)
            let sink: FileHandle
            if let output {
                _ = FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600])
                guard let handle = FileHandle(forWritingAtPath: output) else { throw ValidationError("Cannot write \(output).") }
                sink = handle
            } else {
                sink = FileHandle.standardOutput
            }
            defer { if output != nil { try? sink.close() } }
            let progress = Progress(total: nil)
            var buffer = Data()
            func write(_ line: String) {
                buffer.append(contentsOf: Array((line + "\n").utf8))
                if buffer.count > 1 << 16 {
                    sink.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            var count = 0
            if withPasswordHashes {
                let directory = UserDirectory(store: store, tenant: tenant)
                var after: String?
                outer: while true {
                    let page = try await directory.list(after: after, limit: 500)
                    for user in page where connection == nil || user.connection == connection {
                        if let limit, count >= limit { break outer }
                        write(try JSON.string(user.importJSON))
                        count += 1
                    }
                    progress.update(rows: count, bytes: 0)
                    guard page.count == 500, let last = page.last else { break }
                    after = last.userId
                }
            } else {
                let chosen = fields.map { $0.split(separator: ",").map { Job.ExportField(name: String($0)) } }
                let export = UserExport(store: store, tenant: tenant, format: UserExport.Format(rawValue: format) ?? .json, fields: chosen)
                count = try await export.lines(connection: connection, limit: limit, pendingOnly: pending) { line in
                    write(line)
                }
            }
            sink.write(buffer)
            progress.finish()
            if output != nil { try printJSON(["exported": count]) }
        }
    }
}

/// The progress line of a long CLI run: rows, rows per second and (when the input's size is known) an ETA, redrawn
/// on a terminal's stderr at most ten times a second; nothing when stderr is not a terminal.
final class Progress {
    let total: Int?
    let started = Date()
    let onTerminal = isatty(2) == 1
    private var lastDraw = Date.distantPast

    init(total: Int?) { self.total = total }

    var elapsed: Double { Date().timeIntervalSince(started) }

    func update(rows: Int, bytes: Int) {
        guard onTerminal, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        let rate = elapsed > 0 ? Double(rows) / elapsed : 0
        var line = "\r\(rows) users, \(Int(rate))/s"
        if let total, total > 0, bytes > 0 {
            let done = min(1, Double(bytes) / Double(total))
            let eta = done > 0 ? elapsed * (1 - done) / done : 0
            let width = 30
            let filled = Int(done * Double(width))
            line += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            line += " \(Int(done * 100))% ETA \(Int(eta))s"
        }
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    func finish() {
        if onTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
