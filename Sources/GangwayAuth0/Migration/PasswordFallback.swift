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
        StoreKeys.connection(tenant, connectionId) + "#client_secret"
    }

    // MARK: - The upstream calls

    /// What the upstream vouched for: its `sub` and its /userinfo profile.
    public struct Identity: Sendable {
        public var sub: String
        public var profile: [String: JSONValue]
        public var attempts: Int
        public var elapsedMs: Int
    }

    /// Any upstream failure. `cause` is for the tenant log only (never a password, secret or token).
    public struct Failure: Error, Sendable {
        public var cause: String
        public var status: Int?
        public var attempts: Int
        public var elapsedMs: Int

        public var details: [String: JSONValue] {
            var d: [String: JSONValue] = ["upstream": .string(cause), "attempts": .int(Int64(attempts)), "elapsed_ms": .int(Int64(elapsedMs))]
            if let status { d["upstream_status"] = .int(Int64(status)) }
            return d
        }
    }

    /// Password-realm grant, then /userinfo with the upstream access token, within `budget` in total.
    /// Each call is retried once on a network error or a 5xx, never on a 4xx, and never past the budget.
    public func verify(username: String, password: String, endUserIP: String, secret: String) -> Result<Identity, Failure> {
        let clock = ContinuousClock()
        let start = clock.now, deadline = start + budget
        var attempts = 0
        var status: Int?
        func elapsedMs() -> Int { Int((clock.now - start).components.seconds * 1000 + (clock.now - start).components.attoseconds / 1_000_000_000_000_000) }
        func fail(_ cause: String) -> Failure { Failure(cause: cause, status: status, attempts: attempts, elapsedMs: elapsedMs()) }

        let client = UpstreamClient(connectTimeout: min(budget, .seconds(2)), totalTimeout: budget, maxResponseBytes: 256 << 10)
        /// One call with at most one retry; a non-2xx answer is returned, a network failure or the budget throws.
        func call(_ stage: String, _ send: (Duration) throws(UpstreamError) -> UpstreamResponse) -> Result<UpstreamResponse, Failure> {
            for attempt in 1...2 {
                let remaining = deadline - clock.now
                guard remaining > .milliseconds(5) else { return .failure(fail("\(stage): time budget exhausted")) }
                attempts += 1
                do {
                    let response = try send(remaining)
                    status = response.status
                    if (500...599).contains(response.status), attempt == 1 { continue }
                    return .success(response)
                } catch {
                    status = nil
                    switch error.code {
                    case .timeout:
                        return .failure(fail("\(stage): timeout after \(budget.components.seconds * 1000 + budget.components.attoseconds / 1_000_000_000_000_000) ms budget"))
                    case .connectionFailed, .other:
                        if attempt == 1 { continue }
                        return .failure(fail("\(stage): network error (\(error.code)): \(error.message)"))
                    case .invalidURL, .tooLarge:
                        return .failure(fail("\(stage): \(error.code): \(error.message)"))
                    }
                }
            }
            return .failure(fail("\(stage): unreachable"))
        }
        func object(_ response: UpstreamResponse) -> [String: JSONValue]? {
            (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)))?.objectValue
        }
        func rejection(_ stage: String, _ response: UpstreamResponse) -> Failure {
            let code = object(response)?["error"]?.stringValue.map { " " + String($0.prefix(64)) } ?? ""
            return fail("\(stage): HTTP \(response.status)\(code)")
        }

        // 1. Resource Owner Password Realm grant.
        let fields = [
            ("grant_type", GrantType.passwordRealm.rawValue), ("realm", realm), ("username", username), ("password", password),
            ("client_id", clientId), ("client_secret", secret), ("scope", Self.scope),
        ]
        let tokenResponse: UpstreamResponse
        switch call("token_endpoint", { remaining throws(UpstreamError) in
            try client.postForm(url: tokenEndpoint, fields: fields, headers: [("auth0-forwarded-for", endUserIP)], totalTimeout: .some(remaining))
        }) {
        case .failure(let f): return .failure(f)
        case .success(let r): tokenResponse = r
        }
        guard tokenResponse.status == 200 else { return .failure(rejection("token_endpoint", tokenResponse)) }
        guard let tokens = object(tokenResponse) else { return .failure(fail("token_endpoint: malformed JSON")) }
        guard let accessToken = tokens["access_token"]?.stringValue, !accessToken.isEmpty else {
            return .failure(fail("token_endpoint: no access_token in the answer"))
        }

        // 2. The profile, with the upstream's access token.
        let infoResponse: UpstreamResponse
        switch call("userinfo", { remaining throws(UpstreamError) in
            try client.get(url: userinfoEndpoint, headers: [("Authorization", "Bearer " + accessToken)], totalTimeout: .some(remaining))
        }) {
        case .failure(let f): return .failure(f)
        case .success(let r): infoResponse = r
        }
        guard infoResponse.status == 200 else { return .failure(rejection("userinfo", infoResponse)) }
        guard let profile = object(infoResponse) else { return .failure(fail("userinfo: malformed JSON")) }
        guard let sub = profile["sub"]?.stringValue, !sub.isEmpty, sub.count <= 256 else { return .failure(fail("userinfo: no sub")) }
        return .success(Identity(sub: sub, profile: profile, attempts: attempts, elapsedMs: elapsedMs()))
    }
}

extension PasswordFallback.Identity {
    /// A new local database user for this upstream identity: an Auth0 `auth0|…` sub is kept as the user id (the
    /// app's references and the refresh re-mint path land on the same user); any other sub gets a fresh id.
    /// `login` (what the user typed, and the upstream accepted) is indexed when the profile names no match.
    public func newUser(connection: String, login: String, passwordHash: String, now: Date = .now) -> User {
        let p = profile
        func string(_ key: String) -> String? { p[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        var email = string("email"), username = string("username") ?? string("preferred_username")
        let typed = User.normalize(login)
        if ![email, username].compactMap({ $0.map(User.normalize) }).contains(typed) {
            if typed.contains("@") { if email == nil { email = login } } else if username == nil { username = login }
        }
        var user = User(connection: connection, email: email, username: username, now: now)
        if sub.hasPrefix("auth0|"), sub.count > 6 {
            user.userId = sub
            user.identities = [User.Identity(connection: connection, userId: String(sub.dropFirst(6)), provider: "auth0")]
        }
        user.upstreamSub = sub
        user.emailVerified = p["email_verified"]?.boolValue ?? false
        user.name = string("name") ?? user.name
        user.nickname = string("nickname") ?? user.nickname
        user.givenName = string("given_name")
        user.familyName = string("family_name")
        user.picture = string("picture")
        user.passwordHash = passwordHash
        return user
    }

    /// True when `user` is this upstream identity (or was never tied to one).
    public func matches(_ user: User) -> Bool {
        if let known = user.upstreamSub { return known == sub }
        return true
    }
}
