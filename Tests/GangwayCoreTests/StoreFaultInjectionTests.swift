import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// Every multi-record operation, crashed after each of its writes in turn (N = 0, 1, … until it completes), on
/// every backend: afterwards the whole store satisfies `StoreInvariants`, and the operation tried again on the
/// healthy store succeeds (or fails cleanly), e.g. an email whose registration crashed is registrable.
@Suite("Store fault injection")
struct StoreFaultInjectionTests {
    static let tenant = Tenant(
        id: "ten_fault", issuer: "https://fault.test/", domains: ["fault.test"], defaultConnection: "db", settings: .init(),
        createdAt: .now)

    /// A fresh store holding the tenant and two users (the second linked into the first when `linked`).
    struct Fixture {
        let store: any KeyValueStore
        let primary: User
        let secondary: User
        var users: UserDirectory { UserDirectory(store: store, tenant: StoreFaultInjectionTests.tenant) }

        init(_ backend: StoreBackend, linked: Bool = false) async throws {
            store = try backend.make().0
            try await store.putJSON(StoreKeys.tenant(tenant.id), tenant)
            var primary = User(connection: "db", email: "primary@fault.test", username: "prim")
            let secondary = User(connection: "db", email: "secondary@fault.test")
            primary.passwordHash = nil
            let users = UserDirectory(store: store, tenant: tenant)
            try await users.create(primary)
            try await users.create(secondary)
            if linked { primary = try await users.link(secondary.userId, into: primary.userId) }
            self.primary = primary
            self.secondary = secondary
        }
    }

    static func expectConsistent(_ store: any KeyValueStore, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws
    {
        let violations = try await StoreInvariants(store: store).check()
        #expect(violations.isEmpty, "\(what): \(violations)", sourceLocation: sourceLocation)
    }

    /// Runs `operation` on stores that crash after 0, 1, 2… writes until one run completes; after each crash
    /// checks the invariants and runs `retry` on the healthy store. Returns how many crash points were tried.
    @discardableResult
    static func campaign(
        _ backend: StoreBackend, linked: Bool = false, _ name: String,
        operation: (UserDirectory, Fixture) async throws -> Void,
        retry: (UserDirectory, Fixture) async throws -> Void
    ) async throws -> Int {
        for n in 0..<20 {
            let fixture = try await Fixture(backend, linked: linked)
            let crashing = CrashingStore(fixture.store, writesBeforeCrash: n)
            do {
                try await operation(UserDirectory(store: crashing, tenant: tenant), fixture)
            } catch  where crashing.didCrash {
            }
            try await expectConsistent(fixture.store, "\(name) crashed after \(n) writes on \(backend)")
            if !crashing.didCrash { return n }
            try await retry(fixture.users, fixture)
            try await expectConsistent(fixture.store, "\(name) retried after a crash at \(n) on \(backend)")
        }
        Issue.record("\(name) never completed")
        return -1
    }

    @Test(arguments: StoreBackend.enabled)
    func userCreate(_ backend: StoreBackend) async throws {
        let user = User(connection: "db", email: "New@Fault.test", username: "newbie")
        let points = try await Self.campaign(backend, "create") { users, _ in
            try await users.create(user)
        } retry: { users, _ in
            // The email and username are free again: the same registration goes through.
            try await users.create(user)
            #expect(try await users.find(connection: "db", login: "new@fault.test")?.0.userId == user.userId)
        }
        #expect(points == 1)
    }

    @Test("a NUL byte in the username or id fails the whole create and orphans nothing", arguments: StoreBackend.enabled)
    func nulBytesOrphanNothing(_ backend: StoreBackend) async throws {
        let fixture = try await Fixture(backend)
        var bad = User(connection: "db", email: "nul@fault.test", username: "a\u{0}b")
        await #expect(throws: StoreError.self) { try await fixture.users.create(bad) }
        bad = User(connection: "db", email: "nul@fault.test", username: "fine")
        bad.userId = "auth0|x\u{0}y"
        await #expect(throws: StoreError.self) { try await fixture.users.create(bad) }
        try await Self.expectConsistent(fixture.store, "NUL create")
        #expect(try await fixture.users.find(connection: "db", login: "nul@fault.test") == nil)
        try await fixture.users.create(User(connection: "db", email: "nul@fault.test", username: "fine"))
    }

    @Test(arguments: StoreBackend.enabled)
    func emailAndUsernamePatch(_ backend: StoreBackend) async throws {
        try await Self.campaign(backend, "patch") { users, fixture in
            try await users.modify(fixture.primary.userId) {
                $0.email = "renamed@fault.test"
                $0.username = "renamed"
            }
        } retry: { users, fixture in
            // Either the rename happened or it did not, never half: retrying it lands it, and the old email is free.
            try await users.modify(fixture.primary.userId) {
                $0.email = "renamed@fault.test"
                $0.username = "renamed"
            }
            #expect(try await users.find(connection: "db", login: "primary@fault.test") == nil)
            try await users.create(User(connection: "db", email: "primary@fault.test"))
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func userDelete(_ backend: StoreBackend) async throws {
        try await Self.campaign(backend, "delete") { users, fixture in
            try await users.delete(fixture.secondary.userId)
        } retry: { users, fixture in
            try await users.delete(fixture.secondary.userId)
            try await users.create(User(connection: "db", email: "secondary@fault.test"))
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func accountLink(_ backend: StoreBackend) async throws {
        try await Self.campaign(backend, "link") { users, fixture in
            _ = try await users.link(fixture.secondary.userId, into: fixture.primary.userId)
        } retry: { users, fixture in
            let primary = try await users.link(fixture.secondary.userId, into: fixture.primary.userId)
            #expect(primary.identities.count == 2)
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func accountUnlink(_ backend: StoreBackend) async throws {
        try await Self.campaign(backend, linked: true, "unlink") { users, fixture in
            let identity = fixture.secondary.identities[0]
            _ = try await users.unlink(provider: identity.provider, userId: identity.userId, from: fixture.primary.userId)
        } retry: { users, fixture in
            let identity = fixture.secondary.identities[0]
            let primary = try await users.unlink(provider: identity.provider, userId: identity.userId, from: fixture.primary.userId)
            #expect(primary.identities.count == 1)
            #expect(try await users.get(fixture.secondary.userId)?.0.linkedTo == nil)
        }
    }

    @Test(arguments: StoreBackend.enabled)
    func refreshRotation(_ backend: StoreBackend) async throws {
        for n in 0..<10 {
            let fixture = try await Fixture(backend)
            let tokens = RefreshTokens(store: fixture.store, tenant: Self.tenant)
            let policy = RefreshPolicy(tenant: Self.tenant)
            let token = try await tokens.issue(
                clientId: "app", userId: fixture.primary.userId, connection: "db", scope: ["openid", "offline_access"], audience: nil,
                gty: "password", authTime: 0, policy: policy)
            let crashing = CrashingStore(fixture.store, writesBeforeCrash: n)
            let completed =
                (try? await RefreshTokens(store: crashing, tenant: Self.tenant).redeem(token, clientId: "app", policy: policy)) != nil
            try await Self.expectConsistent(fixture.store, "refresh rotation crashed after \(n) writes on \(backend)")
            if !crashing.didCrash {
                #expect(completed)
                #expect(n == 1)
                return
            }
            // The crash rotated nothing: the token is still the family's active one and redeems normally.
            let replacement = try #require(try await tokens.redeem(token, clientId: "app", policy: policy).replacement)
            _ = try await tokens.redeem(replacement, clientId: "app", policy: policy)
            try await Self.expectConsistent(fixture.store, "refresh rotation retried on \(backend)")
        }
        Issue.record("refresh rotation never completed")
    }

    /// Without batches the old step-by-step create left this orphan: the invariants must see it.
    @Test(arguments: StoreBackend.enabled)
    func invariantsReportAnOrphanedLogin(_ backend: StoreBackend) async throws {
        let fixture = try await Fixture(backend)
        let orphan = fixture.users.loginKey("db", "orphan@fault.test")
        try await fixture.store.putJSON(orphan, "auth0|gone")
        try await fixture.store.putJSON(fixture.users.loginKey("db", "prim"), fixture.secondary.userId)
        let violations = try await StoreInvariants(store: fixture.store).check()
        #expect(violations.map(\.key).contains(orphan))
        #expect(violations.contains { $0.key == fixture.users.recordKey(fixture.primary.userId) })
        #expect(violations.contains { $0.key == fixture.users.loginKey("db", "prim") })
    }
}

/// The refresh re-mint's first sight of an upstream identity whose `sub` has no provider prefix: the local user
/// gets a fresh id, so only the subject index finds it again. Crashed at every write, a second re-mint must find the
/// user the first one left (never create a twin), and the presented token's claim is spent exactly when that user
/// exists (user, index and claim mark are one batch).
@Suite("Store fault injection: re-mint user")
struct RemintUserFaultTests {
    @Test(arguments: StoreBackend.enabled)
    func remintCreatesTheUserAndItsIndexTogether(_ backend: StoreBackend) async throws {
        let tenant = StoreFaultInjectionTests.tenant
        let source = MigrationSource(
            id: "mgs_fault", name: "old tenant", provider: "auth0", connection: "db", enabled: true,
            credentials: .init(domain: "old.example.com", clientId: "c", clientSecretSealed: "", clientSecretHint: ""),
            createdAt: .now, updatedAt: .now)
        let profile = try #require(UpstreamProfile(["sub": "bare-subject-42", "email": "bare@fault.test"]))
        let claimKey = StoreKeys.upstreamRefreshToken(tenant.id, hash: "f00d")
        for n in 0..<10 {
            let store = try backend.make().0
            try await store.putJSON(StoreKeys.tenant(tenant.id), tenant)
            try await store.putJSON(claimKey, RefreshRemint.Claim(state: .pending, at: 0))
            let spend = { (user: User) in
                try StoreOperation.compareAndSwapJSON(
                    claimKey, expectedVersion: 1, RefreshRemint.Claim(state: .reminted, at: 1, userId: user.userId))
            }
            let crashing = CrashingStore(store, writesBeforeCrash: n)
            _ = try? await RefreshRemint(store: crashing, tenant: tenant).resolveUser(profile, source, spending: spend)
            try await StoreFaultInjectionTests.expectConsistent(store, "re-mint crashed after \(n) writes on \(backend)")
            // The claim is spent exactly when the user exists, and names it.
            let claim = try #require(try await store.getJSON(RefreshRemint.Claim.self, claimKey)?.0)
            let made = try await UserDirectory(store: store, tenant: tenant).list(limit: 100)
            #expect(claim.state == (made.isEmpty ? .pending : .reminted), "crash after \(n) writes on \(backend)")
            #expect(claim.userId == made.first?.userId, "crash after \(n) writes on \(backend)")
            // The next presentation of the identity, on the healthy store.
            let user = try await RefreshRemint(store: store, tenant: tenant).resolveUser(profile, source).user
            let all = try await UserDirectory(store: store, tenant: tenant).list(limit: 100)
            #expect(all.map(\.userId) == [user.userId], "crash after \(n) writes on \(backend): \(all.map(\.userId))")
            if !crashing.didCrash { break }
        }
    }
}
