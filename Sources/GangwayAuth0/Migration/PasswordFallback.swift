import FoundationEssentials
import GangwayPlatform

/// Lazy password migration from an upstream Auth0 tenant, configured on a database connection:
/// `options.import_mode: true` and `options.configuration{token_endpoint, userinfo_endpoint, client_id,
/// client_secret, realm?, timeout_ms?}`. The secret is stored sealed (`SecretBox`, context = the connection's
/// store key + `#client_secret`) and never returned.
public struct PasswordFallback: Sendable {
    public var tokenEndpoint: String
    public var userinfoEndpoint: String
    public var clientId: String
    /// The sealed client secret (`gw1.…`), opened only for the upstream call.
    public var sealedSecret: String
    /// `configuration.realm`, else the connection's name.
    public var realm: String
    /// Total budget for every upstream call of one login, retries included.
    public var budget: Duration

    /// At most 8 s: the token function itself has 10 s (`infra/routes.json`).
    public static let timeoutRange = 100...8_000
    public static let requiredFields = ["token_endpoint", "userinfo_endpoint", "client_id", "client_secret"]
    public static let scope = "openid profile email"

    /// Why a configured fallback cannot run (an operator's mistake; logged, answered as a wrong password).
    public struct Misconfigured: Error, Sendable { public var cause: String }

    /// The connection's fallback: nil when `import_mode` is not on; `Misconfigured` when on but unusable.
    /// The budget is the connection's `configuration.timeout_ms`, else the tenant's `upstreamTimeoutMs`
    /// (the one the refresh re-mint uses too; 3 s by default).
    public static func of(_ connection: Connection, tenant: Tenant) throws(Misconfigured) -> PasswordFallback? {
        guard connection.options["import_mode"]?.boolValue == true else { return nil }
        let c = connection.options["configuration"]?.objectValue ?? [:]
        func field(_ name: String) throws(Misconfigured) -> String {
            guard let value = c[name]?.stringValue, !value.isEmpty else { throw Misconfigured(cause: "configuration.\(name) is missing") }
            return value
        }
        let timeout = c["timeout_ms"]?.intValue.map(Int.init) ?? tenant.settings.upstreamTimeoutMs
        return PasswordFallback(
            tokenEndpoint: try field("token_endpoint"), userinfoEndpoint: try field("userinfo_endpoint"),
            clientId: try field("client_id"), sealedSecret: try field("client_secret"),
            realm: c["realm"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? connection.name,
            budget: .milliseconds(min(max(timeout, timeoutRange.lowerBound), timeoutRange.upperBound))
        )
    }

    /// The AES-GCM context binding a sealed secret to its connection record.
    public static func secretContext(tenant: String, connectionId: String) -> String {
        StoreKeys.clientSecretContext(StoreKeys.connection(tenant, connectionId))
    }

    // MARK: - The upstream calls

    /// What the upstream vouched for: its profile (with its `sub`), and what asking cost.
    public struct Identity: Sendable {
        public var profile: UpstreamProfile
        public var attempts: Int
        public var elapsedMs: Int
        public var sub: String { profile.sub }
    }

    /// Any upstream failure. `cause` is for the tenant log only (never a password, secret or token).
    public struct Failure: Error, Sendable {
        public var cause: String
        public var status: Int?
        public var attempts: Int
        public var elapsedMs: Int

        public var details: [String: JSONValue] {
            var d: [String: JSONValue] = [
                "upstream": .string(cause), "attempts": .int(Int64(attempts)), "elapsed_ms": .int(Int64(elapsedMs)),
            ]
            if let status { d["upstream_status"] = .int(Int64(status)) }
            return d
        }
    }

    /// The upstream as this connection configured it; log causes name its endpoints by their configuration fields.
    var endpoints: UpstreamAuth0.Endpoints {
        UpstreamAuth0.Endpoints(token: tokenEndpoint, tokenLabel: "token_endpoint", userinfo: userinfoEndpoint, userinfoLabel: "userinfo")
    }

    /// Password-realm grant, then /userinfo with the upstream access token, within `budget` in total, under
    /// `UpstreamAuth0`'s retry policy.
    public func verify(username: String, password: String, endUserIP: String, secret: String) -> Result<Identity, Failure> {
        let upstream = UpstreamAuth0(endpoints, budget: UpstreamBudget(budget))
        do throws(UpstreamAuth0.Failure) {
            let accessToken = try upstream.passwordRealmGrant(
                realm: realm, username: username, password: password, clientId: clientId, secret: secret, scope: Self.scope,
                forwardedFor: endUserIP
            )
            let profile = try upstream.userinfo(accessToken: accessToken)
            return .success(Identity(profile: profile, attempts: upstream.attempts, elapsedMs: upstream.budget.elapsedMs))
        } catch {
            return .failure(
                Failure(cause: error.description, status: error.status, attempts: upstream.attempts, elapsedMs: upstream.budget.elapsedMs))
        }
    }
}
