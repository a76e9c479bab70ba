import FoundationEssentials
import GangwayPlatform

/// Writes the users of an import file into one database connection, a chunk at a time: the one import path of
/// the jobs worker and of `gangway users import`.
///
/// - New users are created with their logins claimed in the same batch (`UserDirectory`); a whole chunk of new
///   users is one batch, and when any of them collides the chunk is retried user by user, so only the colliding
///   user fails.
/// - `upsert`: a user whose email exists on the connection is updated instead, as Auth0 does it: only the
///   upsertable fields change, metadata is replaced (not merged), `email_verified` changes only when the file
///   sets it, and `custom_password_hash` replaces the imported hash only while the user has not logged in with it.
/// - With a `journal`, every row's outcome is written in the same batch as the user it created or changed: a row
///   whose journal entry exists is done, so a worker that resumes after a crash never applies a row twice.
public struct UserImport: Sendable {
    public let directory: UserDirectory
    public let connection: Connection
    public let upsert: Bool
    public var journal: Journal?

    /// Where each row's outcome is kept (one key per row, listed in row order).
    public struct Journal: Sendable {
        public var prefix: String
        public var ttl: Duration?
        public init(prefix: String, ttl: Duration?) {
            self.prefix = prefix
            self.ttl = ttl
        }
        public func key(_ index: Int) -> String {
            let digits = String(index)
            return prefix + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
        }
    }

    public init(directory: UserDirectory, connection: Connection, upsert: Bool, journal: Journal? = nil) {
        self.directory = directory
        self.connection = connection
        self.upsert = upsert
        self.journal = journal
    }

    /// Logins and ids already given by earlier rows of the same file: a later row with one of them is
    /// `DUPLICATED_USER`. A job keeps one for its whole file; the CLI keeps none beyond a chunk (memory stays
    /// flat), and the store's uniqueness refuses the duplicate instead.
    public struct Seen: Sendable {
        var keys: Set<String> = []
        public init() {}

        /// The first of the user's keys seen before (marking all of them seen when none was).
        mutating func claim(_ user: ImportedUser) -> String? {
            var mine = ["email:" + User.normalize(user.email)]
            if let u = user.username { mine.append("username:" + User.normalize(u)) }
            if let id = user.userId { mine.append("user_id:" + id) }
            if let taken = mine.first(where: keys.contains) { return String(taken.split(separator: ":").first ?? "") }
            keys.formUnion(mine)
            return nil
        }
    }

    /// Imports `rows` (their index in the file and their JSON) and returns each row's outcome, in order.
    public func apply(_ rows: [(index: Int, value: JSONValue)], seen: inout Seen) async throws -> [ImportRow] {
        var results = [ImportRow?](repeating: nil, count: rows.count)
        let done = try await journaled(rows)

        var creates: [(position: Int, user: User, imported: ImportedUser)] = []
        var updates: [(position: Int, existing: String, imported: ImportedUser)] = []
        var chunkSeen = Seen()
        for (position, row) in rows.enumerated() {
            if let previous = done[row.index] {
                results[position] = previous
                // Rebuild the file's seen set from rows a crashed run already did.
                if case .valid(let user) = ImportedUser.parse(row.value) { _ = seen.claim(user) }
                continue
            }
            let user: ImportedUser
            switch ImportedUser.parse(row.value) {
            case .invalid(let errors):
                results[position] = failed(row.value, errors)
                continue
            case .valid(let parsed): user = parsed
            }
            if let key = seen.claim(user) {
                results[position] = failed(row.value, [Self.duplicated(key)])
                continue
            }
            if upsert, let (existing, _) = try await directory.find(connection: connection.name, login: user.email) {
                updates.append((position, existing.userId, user))
                continue
            }
            if chunkSeen.claim(user) != nil {
                // Twice in one chunk (the CLI, which keeps no file-wide set): one batch may not hold a key twice.
                results[position] = failed(row.value, [Self.exists])
                continue
            }
            creates.append((position, newUser(user), user))
        }

        // New users: one batch for the chunk; on any collision, one by one.
        let batch = try creates.map { c in (c.user, try journalEntry(rows[c.position].index, ImportRow(outcome: .inserted))) }
        if !creates.isEmpty, try await directory.createAll(batch) {
            for c in creates { results[c.position] = ImportRow(outcome: .inserted) }
        } else {
            for c in creates {
                results[c.position] = try await create(c.user, index: rows[c.position].index, value: rows[c.position].value)
            }
        }
        for u in updates {
            results[u.position] = try await update(
                u.existing, with: u.imported, index: rows[u.position].index, value: rows[u.position].value)
        }
        // Failed rows are journaled too (their errors are the job's error list).
        for (position, row) in rows.enumerated() where done[row.index] == nil {
            if let result = results[position], result.outcome == .failed, let entry = try journalEntry(row.index, result).first {
                _ = try await directory.store.commit([entry])
            }
        }
        return results.map { $0 ?? ImportRow(outcome: .failed, errors: [Self.exists]) }
    }

    // MARK: - One row

    private func create(_ user: User, index: Int, value: JSONValue) async throws -> ImportRow {
        let row = ImportRow(outcome: .inserted)
        do {
            try await directory.create(user, with: try journalEntry(index, row))
            return row
        } catch let failure as UserDirectory.Failure {
            switch failure {
            case .loginTaken(let login) where login == User.normalize(user.email ?? ""):
                return failed(value, [Self.exists])
            case .loginTaken:
                return failed(
                    value,
                    [UserImportError(code: "CONFLICT_USERNAME", message: "The username provided is in use already.", path: "username")])
            case .userIdTaken:
                return failed(
                    value, [UserImportError(code: "CONFLICT", message: "A user with this user_id already exists.", path: "user_id")])
            case .conditionFailed:
                return try await journalRow(index) ?? row  // done by a run that crashed after writing it
            default:
                throw failure
            }
        }
    }

    private func update(_ userId: String, with imported: ImportedUser, index: Int, value: JSONValue) async throws -> ImportRow {
        let row = ImportRow(outcome: .updated)
        do {
            guard try await directory.modify(userId, with: try journalEntry(index, row), { Self.upsert(imported, into: &$0) }) != nil else {
                return failed(value, [Self.exists])  // deleted meanwhile: refused rather than half-applied
            }
            return row
        } catch UserDirectory.Failure.conditionFailed {
            return try await journalRow(index) ?? row
        }
    }

    /// Auth0's upsertable fields (reference §1.3): never the email, username, id, blocked flag or bcrypt hash.
    static func upsert(_ imported: ImportedUser, into user: inout User) {
        if let v = imported.emailVerified { user.emailVerified = v }
        if let v = imported.givenName { user.givenName = v }
        if let v = imported.familyName { user.familyName = v }
        if let v = imported.name { user.name = v }
        if let v = imported.nickname { user.nickname = v }
        if let v = imported.picture { user.picture = v }
        if let v = imported.appMetadata { user.appMetadata = v }
        if let v = imported.userMetadata { user.userMetadata = v }
        // Replaceable until the user has logged in with it (which gives them Gangway's own hash).
        if let v = imported.customPasswordHash, user.passwordHash == nil { user.importedPasswordHash = v }
        user.updatedAt = .now
    }

    func newUser(_ imported: ImportedUser) -> User {
        var user = User(connection: connection.name, email: imported.email, username: imported.username)
        if let id = imported.userId {
            user.userId = "auth0|" + id
            user.identities = [User.Identity(connection: connection.name, userId: id, provider: "auth0")]
        }
        user.emailVerified = imported.emailVerified ?? false
        user.blocked = imported.blocked ?? false
        if let v = imported.givenName { user.givenName = v }
        if let v = imported.familyName { user.familyName = v }
        if let v = imported.name { user.name = v }
        if let v = imported.nickname { user.nickname = v }
        if let v = imported.picture { user.picture = v }
        user.appMetadata = imported.appMetadata ?? [:]
        user.userMetadata = imported.userMetadata ?? [:]
        user.passwordHash = imported.passwordHash
        user.importedPasswordHash = imported.customPasswordHash
        return user
    }

    // MARK: - Journal

    private func journalEntry(_ index: Int, _ row: ImportRow) throws -> [StoreOperation] {
        guard let journal else { return [] }
        return [try .insertJSON(journal.key(index), row, ttl: journal.ttl)]
    }

    private func journalRow(_ index: Int) async throws -> ImportRow? {
        guard let journal else { return nil }
        return try await directory.store.getJSON(ImportRow.self, journal.key(index))?.0
    }

    /// Rows of this chunk a previous run finished, by index.
    private func journaled(_ rows: [(index: Int, value: JSONValue)]) async throws -> [Int: ImportRow] {
        guard let journal, let first = rows.first?.index, let last = rows.last?.index else { return [:] }
        let after = first == 0 ? nil : journal.key(first - 1)
        var found: [Int: ImportRow] = [:]
        for entry in try await directory.store.listJSON(ImportRow.self, prefix: journal.prefix, after: after, limit: rows.count) {
            guard let index = Int(entry.key.dropFirst(journal.prefix.count)), index <= last else { continue }
            found[index] = entry.value
        }
        return found
    }

    // MARK: - Errors

    private func failed(_ value: JSONValue, _ errors: [UserImportError]) -> ImportRow {
        ImportRow(outcome: .failed, user: ImportedUser.redacted(value), errors: errors)
    }

    static let exists = UserImportError(code: "DUPLICATED_USER", message: "The user already exist and upsert parameter is false", path: "")

    static func duplicated(_ what: String) -> UserImportError {
        UserImportError(code: "DUPLICATED_USER", message: "A user with this \(what) was already provided.", path: what)
    }
}
