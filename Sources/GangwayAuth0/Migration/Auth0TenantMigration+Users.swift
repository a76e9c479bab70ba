import FoundationEssentials
import GangwayPlatform

/// The users step of `gangway migrate from-auth0`: one users-export job per database connection (Auth0's gzipped
/// NDJSON), each user stored without a password hash — *pending*, as Auth0's import mode has them: the password
/// fallback completes one at its first login, a bulk hash import completes it too. The user keeps its `user_id`,
/// emails, username, profile, metadata, `blocked`, `created_at` and login count. A user that exists already (same id)
/// is left alone, so a second run adds only the users who signed up upstream since.
extension Auth0TenantMigration {
    /// Users stored per store batch.
    static let userChunk = 500

    func users(_ connections: [(upstreamId: String, local: Connection)], _ progress: (String, Int, Int) -> Void) async throws -> Step {
        var step = Step(name: "users")
        guard !plan else {
            step.notes.append("users are exported and counted when the migration runs (a plan starts no export job)")
            return step
        }
        let directory = UserDirectory(store: store, tenant: tenant)
        for (upstreamId, connection) in connections {
            let jobId = try upstream.startUsersExport(connectionId: upstreamId)
            let location = try await upstream.awaitExport(jobId)
            let file = try upstream.download(location)
            let reader: Gunzip
            do { reader = try Gunzip() } catch { throw Auth0Management.Failure(description: "zlib: \(error.code)") }
            var chunk: [User] = []
            var handled = 0
            func flush() async throws {
                let (created, unchanged, failures) = try await store(chunk, in: directory)
                try await MigrationCounters.add(created, to: MigrationCounters.Kind.pendingImported, store: self.store, tenant: tenant)
                step.created += created
                step.unchanged += unchanged
                step.failed += failures.count
                step.notes += failures.prefix(max(0, 20 - step.notes.count))
                handled += chunk.count
                chunk.removeAll(keepingCapacity: true)
                progress("users (\(connection.name))", handled, handled)
            }
            // The NDJSON records of the file, inflated 64 KiB of it at a time.
            var offset = 0
            var records = JSONRecords(blocks: {
                guard offset < file.count else { return nil }
                let end = min(offset + (1 << 16), file.count)
                defer { offset = end }
                return try reader.inflate(file[offset..<end])
            })
            do {
                while let record = try records.next() {
                    guard let value = try? JSON.decode(JSONValue.self, from: Data(record)),
                        let user = Self.pendingUser(value, connection: connection.name)
                    else {
                        step.failed += 1
                        if step.notes.count < 20 { step.notes.append("\(connection.name): an export line is not a user with a user_id") }
                        continue
                    }
                    chunk.append(user)
                    if chunk.count >= Self.userChunk { try await flush() }
                }
            } catch let failure as JSONRecords.Failure {
                throw Auth0Management.Failure(
                    description: "the export of \(connection.name) is not a valid gzip NDJSON file: \(failure.description)")
            }
            if !chunk.isEmpty { try await flush() }
            // A download cut short on a line boundary still lacks the gzip trailer: the run fails (what was read is
            // stored; the next run adds the rest) rather than report a partial export as complete.
            guard reader.finished else {
                throw Auth0Management.Failure(description: "the export of \(connection.name) ends before its gzip trailer")
            }
        }
        return step
    }

    /// Stores a chunk: in one batch when none exists yet, else one by one (existing ids are left alone).
    /// Returns how many were created, how many existed, and why others failed.
    private func store(_ users: [User], in directory: UserDirectory) async throws -> (Int, Int, [String]) {
        var fresh: [User] = []
        var unchanged = 0
        for user in users {
            if try await directory.get(user.userId) != nil { unchanged += 1 } else { fresh.append(user) }
        }
        if fresh.isEmpty { return (0, unchanged, []) }
        if try await directory.createAll(fresh.map { ($0, []) }) { return (fresh.count, unchanged, []) }
        var created = 0
        var failures: [String] = []
        for user in fresh {
            do {
                try await directory.create(user)
                created += 1
            } catch UserDirectory.Failure.userIdTaken {
                unchanged += 1
            } catch UserDirectory.Failure.loginTaken(let login) {
                failures.append("user \(user.userId): \(login) belongs to another user of \(user.connection)")
            }
        }
        return (created, unchanged, failures)
    }

    /// A user of Auth0's export (its default fields), pending: no password hash, tied to its upstream identity. The
    /// profile is read as the password fallback reads an upstream `/userinfo` answer (`UpstreamProfile.newUser`); the
    /// export adds what only the Management API knows.
    static func pendingUser(_ exported: JSONValue, connection: String) -> User? {
        guard var fields = exported.objectValue, let userId = fields["user_id"]?.stringValue else { return nil }
        fields["sub"] = .string(userId)
        guard let profile = UpstreamProfile(fields), profile.keptUserId == userId else { return nil }
        func date(_ key: String) -> Date? { fields[key]?.stringValue.flatMap(ManagementDate.parse) }
        let created = date("created_at") ?? .now
        var user = profile.newUser(connection: connection, now: created)
        user.blocked = fields["blocked"]?.boolValue ?? false
        user.userMetadata = fields["user_metadata"]?.objectValue ?? [:]
        user.appMetadata = fields["app_metadata"]?.objectValue ?? [:]
        user.updatedAt = date("updated_at") ?? created
        user.lastLogin = date("last_login")
        user.loginsCount = fields["logins_count"]?.intValue.map(Int.init) ?? 0
        return user
    }
}
