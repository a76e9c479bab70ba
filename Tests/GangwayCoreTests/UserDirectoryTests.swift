import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// `UserDirectory` as the one owner of "a login name belongs to exactly one user", on a real SQLite store.
@Suite("UserDirectory")
struct UserDirectoryTests {
    let store: any KeyValueStore
    let tenant = Tenant(
        id: "ten_dir", issuer: "https://dir.test/", domains: ["dir.test"], defaultConnection: "db", settings: .init(), createdAt: .now)
    var users: UserDirectory { UserDirectory(store: store, tenant: tenant) }

    init() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-dir-\(UUID().uuidString)").path
        store = try Store.open(url: "sqlite://" + dir + "/kv.db")
    }

    func owner(_ login: String) async throws -> String? {
        try await store.getJSON(String.self, StoreKeys.userLogin(tenant.id, connection: "db", User.normalize(login)))?.0
    }

    @Test func createRefusesATakenLoginOrIdAndReleasesItsClaims() async throws {
        let ann = User(connection: "db", email: "ann@dir.test", username: "ann")
        try await users.create(ann)
        await #expect(throws: UserDirectory.Failure.loginTaken("ann@dir.test")) {
            try await users.create(User(connection: "db", email: "ANN@dir.test ", username: "other"))
        }
        #expect(try await owner("other") == nil, "the failed create's username claim is released")
        var twin = User(connection: "db", email: "twin@dir.test")
        twin.userId = ann.userId
        await #expect(throws: UserDirectory.Failure.userIdTaken(ann.userId)) { try await users.create(twin) }
        #expect(try await owner("twin@dir.test") == nil)
        #expect(try await users.find(connection: "db", login: "Ann")?.0.userId == ann.userId)
    }

    @Test func aRenameClaimsTheNewLoginThenReleasesTheOldOne() async throws {
        let bob = User(connection: "db", email: "bob@dir.test")
        try await users.create(bob)
        let renamed = try await users.modify(bob.userId) {
            $0.email = "robert@dir.test"
            $0.username = "rob"
        }
        #expect(renamed?.email == "robert@dir.test")
        #expect(try await owner("robert@dir.test") == bob.userId)
        #expect(try await owner("rob") == bob.userId)
        #expect(try await owner("bob@dir.test") == nil, "the old login is free again")
        try await users.create(User(connection: "db", email: "bob@dir.test"))
    }

    @Test func aRenameToAnotherUsersLoginChangesNothing() async throws {
        let cat = User(connection: "db", email: "cat@dir.test")
        let dan = User(connection: "db", email: "dan@dir.test")
        try await users.create(cat)
        try await users.create(dan)
        await #expect(throws: UserDirectory.Failure.loginTaken("dan@dir.test")) {
            try await users.modify(cat.userId) {
                $0.email = "dan@dir.test"
                $0.username = "kitty"
            }
        }
        #expect(try await users.get(cat.userId)?.0.email == "cat@dir.test")
        #expect(try await owner("kitty") == nil)
        #expect(try await owner("cat@dir.test") == cat.userId)
        #expect(try await owner("dan@dir.test") == dan.userId)
    }

    @Test func renamesAndDeletesReleaseOnlyEntriesTheUserOwns() async throws {
        let eve = User(connection: "db", email: "eve@dir.test", username: "eve")
        try await users.create(eve)
        // The index entry of eve's username points at someone else (an older record, a repair): never freed by eve.
        try await store.putJSON(StoreKeys.userLogin(tenant.id, connection: "db", "eve"), "auth0|someone-else")
        try await users.modify(eve.userId) { $0.username = "evelyn" }
        #expect(try await owner("eve") == "auth0|someone-else")
        let removed = try await users.delete(eve.userId)
        #expect(removed?.userId == eve.userId)
        #expect(try await users.get(eve.userId) == nil)
        #expect(try await owner("eve@dir.test") == nil)
        #expect(try await owner("evelyn") == nil)
        #expect(try await users.delete(eve.userId) == nil)
    }

    @Test func linkAndUnlinkKeepBothRecordsInStep() async throws {
        let primary = User(connection: "db", email: "p@dir.test")
        let secondary = User(connection: "db", email: "s@dir.test")
        try await users.create(primary)
        try await users.create(secondary)
        let linked = try await users.link(secondary.userId, into: primary.userId)
        #expect(linked.identities.count == 2)
        let (s, _) = try #require(try await users.get(secondary.userId))
        #expect(s.linkedTo == primary.userId)
        #expect(try await users.resolveLinked(s).userId == primary.userId)
        await #expect(throws: UserDirectory.Failure.alreadyLinked(toThisPrimary: true)) {
            try await users.link(secondary.userId, into: primary.userId)
        }
        let id = secondary.identities[0]
        let unlinked = try await users.unlink(provider: id.provider, userId: id.userId, from: primary.userId)
        #expect(unlinked.identities.count == 1)
        #expect(try await users.get(secondary.userId)?.0.linkedTo == nil)
        await #expect(throws: UserDirectory.Failure.noSuchIdentity(provider: id.provider, userId: id.userId)) {
            try await users.unlink(provider: id.provider, userId: id.userId, from: primary.userId)
        }
    }

    @Test func aDamagedRecordIsReportedNotSkipped() async throws {
        try await users.create(User(connection: "db", email: "fay@dir.test"))
        try await store.put(StoreKeys.user(tenant.id, "auth0|broken"), Data("{not json".utf8), ttl: nil)
        await #expect(throws: StoreError.self) { try await users.list(limit: 10) }
    }
}
