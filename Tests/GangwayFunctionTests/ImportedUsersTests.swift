import Foundation
import GangwayAuth0
import Testing

/// Imported users in a real SQLite store, in process: the login with an imported hash, and the import journal.
@Suite("Imported users")
struct ImportedUsersTests {
    static func md5User(_ t: InProcessTenant, _ email: String, password: String) async throws -> User {
        let digest = try #require(MessageDigest.hash("md5", Array(password.utf8)))
        var user = User(connection: t.tenant.defaultConnection, email: email)
        user.importedPasswordHash = try ImportedPasswordHash.parse([
            "algorithm": "md5", "hash": ["value": .string(Digest.hex(digest)), "encoding": "hex"],
        ])
        try await UserDirectory(store: t.store, tenant: t.tenant).create(user)
        return user
    }

    @Test("the first login with an imported hash replaces it with bcrypt in the same write")
    func firstLoginReplacesTheImportedHash() async throws {
        let t = try await InProcessTenant()
        let login = PasswordLogin(store: t.store, tenant: t.tenant)
        let connection = try #require(try await login.connection(named: t.tenant.defaultConnection))
        let user = try await Self.md5User(t, "md5@example.com", password: "Imported-Pa55!")

        let outcome = try await login.login(connection: connection, username: "md5@example.com", password: "Imported-Pa55!")
        #expect(outcome.rehashed == .md5)
        let (stored, _) = try #require(try await UserDirectory(store: t.store, tenant: t.tenant).get(user.userId))
        #expect(stored.importedPasswordHash == nil)
        #expect(stored.passwordHash?.hasPrefix("$2b$") == true && stored.loginsCount == 1)
        // Now an ordinary bcrypt user: the same password, no second replacement.
        let again = try await login.login(connection: connection, username: "md5@example.com", password: "Imported-Pa55!")
        #expect(again.rehashed == nil)
    }

    @Test("a wrong password against a fast imported hash costs at least a bcrypt verification (no timing tell)")
    func wrongPasswordAgainstAFastHashCostsABcrypt() async throws {
        let t = try await InProcessTenant()
        let login = PasswordLogin(store: t.store, tenant: t.tenant)
        let connection = try #require(try await login.connection(named: t.tenant.defaultConnection))
        var bcryptUser = User(connection: connection.name, email: "bcrypt@example.com")
        bcryptUser.passwordHash = try PasswordHash.make("Local-Pa55!")
        try await UserDirectory(store: t.store, tenant: t.tenant).create(bcryptUser)
        _ = try await Self.md5User(t, "fast@example.com", password: "Imported-Pa55!")

        func fastest(_ username: String) async -> Duration {
            var best = Duration.seconds(60)
            for i in 0..<3 {
                let started = ContinuousClock.now
                _ = try? await login.login(connection: connection, username: username, password: "wrong-\(i)")
                best = min(best, ContinuousClock.now - started)
            }
            return best
        }
        let bcrypt = await fastest("bcrypt@example.com")
        let md5 = await fastest("fast@example.com")
        #expect(md5 > bcrypt / 2, "md5 \(md5), bcrypt \(bcrypt)")
    }

    @Test("rows the journal shows done are not applied again (a resumed job)")
    func journaledRowsAreNotAppliedTwice() async throws {
        let t = try await InProcessTenant()
        let directory = UserDirectory(store: t.store, tenant: t.tenant)
        let connection = try #require(
            try await PasswordLogin(store: t.store, tenant: t.tenant).connection(named: t.tenant.defaultConnection))
        let importer = UserImport(
            directory: directory, connection: connection, upsert: false,
            journal: .init(prefix: "t/\(t.tenant.id)/job-rows/job_test/", ttl: nil))
        let rows: [(index: Int, value: JSONValue)] = (0..<5).map { ($0, ["email": .string("row\($0)@example.com")]) }
        var seen = UserImport.Seen()
        let first = try await importer.apply(rows, seen: &seen)
        #expect(first.map(\.outcome) == Array(repeating: .inserted, count: 5))
        // A worker that died after the batch but before recording progress runs the same rows again.
        var fresh = UserImport.Seen()
        let second = try await importer.apply(rows, seen: &fresh)
        #expect(second.map(\.outcome) == Array(repeating: .inserted, count: 5))
        #expect(try await directory.list(limit: 100).count == 5)
        // Without the journal the same rows are existing users.
        let plain = UserImport(directory: directory, connection: connection, upsert: false)
        var none = UserImport.Seen()
        #expect(try await plain.apply(rows, seen: &none).map(\.outcome) == Array(repeating: .failed, count: 5))
    }
}
