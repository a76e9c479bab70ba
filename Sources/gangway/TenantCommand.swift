import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway tenant set`: change a tenant's settings (lifetimes, brute-force protection, browser sessions, the
/// tenant's Allowed Logout URLs).
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Show or change a tenant's settings.", subcommands: [Set.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change settings (seconds); prints the tenant's settings as JSON.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "Access token lifetime.") var accessTokenLifetime: Int?
        @Option(help: "ID token lifetime.") var idTokenLifetime: Int?
        @Option(help: "Refresh token absolute lifetime.") var refreshAbsolute: Int?
        @Option(help: "Refresh token idle lifetime.") var refreshIdle: Int?
        @Option(help: "Leeway for reusing a just-rotated refresh token.") var refreshReuseLeeway: Int?
        @Option(help: "Consecutive failed logins that block a username.") var bruteForceLimit: Int?
        @Option(help: "Window the failures are counted in.") var bruteForceWindow: Int?
        @Option(help: "How long a brute-force block lasts.") var bruteForceBlock: Int?
        @Option(help: "Total time budget for upstream Auth0 calls of one request (milliseconds).") var upstreamTimeoutMs: Int?
        @Option(help: "Browser session: ends after this long without activity (Auth0's default 3 days).") var sessionIdle: Int?
        @Option(help: "Browser session: ends this long after its login whatever happens (default 7 days).") var sessionAbsolute: Int?
        @Option(help: "Comma-separated URLs /v2/logout may return to without a client_id (\"\" clears them).")
        var allowedLogoutUrls: String?

        func run() async throws {
            let store = try store.open()
            let key = StoreKeys.tenant(try await tenant.resolve(in: store).id)
            let settings = try await store.update(Tenant.self, at: key) { stored in
                guard var current = stored else { throw ValidationError("Tenant vanished.") }
                var s = current.settings
                if let v = accessTokenLifetime { s.accessTokenLifetime = v }
                if let v = idTokenLifetime { s.idTokenLifetime = v }
                if let v = refreshAbsolute { s.refreshTokenAbsoluteLifetime = v }
                if let v = refreshIdle { s.refreshTokenIdleLifetime = v }
                if let v = refreshReuseLeeway { s.refreshTokenReuseLeeway = v }
                if let v = bruteForceLimit { s.bruteForceLimit = v }
                if let v = bruteForceWindow { s.bruteForceWindow = v }
                if let v = bruteForceBlock { s.bruteForceBlockDuration = v }
                if let v = upstreamTimeoutMs { s.upstreamTimeoutMs = v }
                if let v = sessionIdle { s.sessionIdleLifetime = v }
                if let v = sessionAbsolute { s.sessionAbsoluteLifetime = v }
                if let v = allowedLogoutUrls {
                    current.allowedLogoutURLs = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                        !$0.isEmpty
                    }
                }
                current.settings = s
                stored = current
                return s
            }
            try printJSON(settings)
        }
    }
}
