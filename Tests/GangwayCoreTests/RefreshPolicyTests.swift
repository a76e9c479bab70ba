import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// An application's `refresh_token` settings (Auth0's) decide how its refresh tokens rotate and expire; an
/// application without them keeps the tenant's behaviour. In-process on a real SQLite store.
@Suite("Refresh policy per application")
struct RefreshPolicyTests {
    /// A tenant whose own lifetimes are one second, so that "the application's setting wins" shows in a test.
    static func tenant(absolute: Int = 2_592_000, idle: Int = 1_296_000, leeway: Int = 10) -> Tenant {
        var settings = Tenant.Settings()
        settings.refreshTokenAbsoluteLifetime = absolute
        settings.refreshTokenIdleLifetime = idle
        settings.refreshTokenReuseLeeway = leeway
        return Tenant(
            id: "ten_refresh", issuer: "https://refresh.test/", domains: ["refresh.test"], defaultConnection: "db", settings: settings,
            createdAt: .now)
    }

    static func application(_ settings: [String: JSONValue]?) -> Application {
        var application = Application(
            clientId: "app", name: "app", kind: .regularWeb, secretHash: nil, grantTypes: [.refreshToken], createdAt: .now)
        application.refreshToken = settings
        return application
    }

    static func issue(_ tokens: RefreshTokens, _ policy: RefreshPolicy) async throws -> String {
        try await tokens.issue(
            clientId: "app", userId: "auth0|u", connection: "db", scope: ["openid", "offline_access"], audience: nil, gty: "password",
            authTime: 0, policy: policy)
    }

    @Test("no settings: the tenant's rotating policy, as before applications had settings")
    func noSettingsIsTheTenantsPolicy() {
        let tenant = Self.tenant(absolute: 100, idle: 50, leeway: 7)
        #expect(RefreshPolicy(application: Self.application(nil), tenant: tenant) == RefreshPolicy(tenant: tenant))
        #expect(RefreshPolicy(tenant: tenant) == RefreshPolicy(rotating: true, leeway: 7, absoluteLifetime: 100, idleLifetime: 50))
    }

    @Test("non-rotating keeps the same token: no replacement, and it works again and again")
    func nonRotatingKeepsTheToken() async throws {
        let tenant = Self.tenant()
        let tokens = RefreshTokens(store: try StoreBackend.sqlite.make().0, tenant: tenant)
        let policy = RefreshPolicy(application: Self.application(["rotation_type": "non-rotating"]), tenant: tenant)
        #expect(!policy.rotating)
        let token = try await Self.issue(tokens, policy)
        for _ in 0..<3 {
            #expect(try await tokens.redeem(token, clientId: "app", policy: policy).replacement == nil)
        }
    }

    @Test("infinite_token_lifetime and infinite_idle_token_lifetime outlive the tenant's one-second lifetimes")
    func infiniteLifetimes() async throws {
        let tenant = Self.tenant(absolute: 1, idle: 1)
        let tokens = RefreshTokens(store: try StoreBackend.sqlite.make().0, tenant: tenant)
        let infinite = RefreshPolicy(
            application: Self.application(["infinite_token_lifetime": true, "infinite_idle_token_lifetime": true]), tenant: tenant)
        let tenantPolicy = RefreshPolicy(tenant: tenant)
        let forever = try await Self.issue(tokens, infinite)
        let shortLived = try await Self.issue(tokens, tenantPolicy)
        try await Task.sleep(for: .milliseconds(2200))
        #expect(try await tokens.redeem(forever, clientId: "app", policy: infinite).replacement != nil)
        await #expect(throws: RefreshTokens.Failure.self) { try await tokens.redeem(shortLived, clientId: "app", policy: tenantPolicy) }
    }

    @Test("token_lifetime and idle_token_lifetime shorten a token's life below the tenant's")
    func shorterLifetimes() async throws {
        let tenant = Self.tenant()
        let tokens = RefreshTokens(store: try StoreBackend.sqlite.make().0, tenant: tenant)
        for settings: [String: JSONValue] in [["token_lifetime": 1], ["idle_token_lifetime": 1]] {
            let policy = RefreshPolicy(application: Self.application(settings), tenant: tenant)
            let token = try await Self.issue(tokens, policy)
            try await Task.sleep(for: .milliseconds(2200))
            await #expect(throws: RefreshTokens.Failure.self, "\(settings)") {
                try await tokens.redeem(token, clientId: "app", policy: policy)
            }
        }
    }

    @Test("leeway 0: a rotated token presented again a second later revokes the family (the tenant's leeway would forgive it)")
    func leewayZero() async throws {
        // The tenant's leeway is an hour here: under the full suite a step of this test has waited 80 s for a thread.
        let tenant = Self.tenant(leeway: 3600)
        let tokens = RefreshTokens(store: try StoreBackend.sqlite.make().0, tenant: tenant)
        let strict = RefreshPolicy(application: Self.application(["leeway": 0]), tenant: tenant)
        let lenient = RefreshPolicy(tenant: tenant)
        let first = try await Self.issue(tokens, strict)
        let second = try #require(try await tokens.redeem(first, clientId: "app", policy: strict).replacement)
        let other = try await Self.issue(tokens, lenient)
        _ = try await tokens.redeem(other, clientId: "app", policy: lenient)
        try await Task.sleep(for: .milliseconds(1200))
        _ = try await tokens.redeem(other, clientId: "app", policy: lenient)  // forgiven within the tenant's leeway
        await #expect(throws: RefreshTokens.Failure.self) { try await tokens.redeem(first, clientId: "app", policy: strict) }
        await #expect(throws: RefreshTokens.Failure.self, "the family is revoked") {
            try await tokens.redeem(second, clientId: "app", policy: strict)
        }
    }

    @Test("expiration_type non-expiring lifts both lifetimes")
    func nonExpiring() {
        let policy = RefreshPolicy(
            application: Self.application(["expiration_type": "non-expiring", "token_lifetime": 5]), tenant: Self.tenant())
        #expect(policy.absoluteLifetime == nil && policy.idleLifetime == nil)
    }
}
