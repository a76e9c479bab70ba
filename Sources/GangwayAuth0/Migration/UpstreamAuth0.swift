import FoundationEssentials
import GangwayPlatform

/// One time budget for a whole upstream exchange (every call, every retry, every source of a re-mint), and the
/// HTTP client whose kept-alive connections the exchange's calls share.
public final class UpstreamBudget {
    public let budget: Duration
    let clock = ContinuousClock()
    let start: ContinuousClock.Instant
    let http: UpstreamClient

    public init(_ budget: Duration) {
        self.budget = budget
        self.start = ContinuousClock.now
        self.http = UpstreamClient(connectTimeout: min(budget, .seconds(2)), totalTimeout: budget, maxResponseBytes: 256 << 10)
    }

    public var remaining: Duration { start + budget - clock.now }
    public var elapsedMs: Int { Self.milliseconds(clock.now - start) }

    static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// An upstream Auth0 tenant as both lazy migrations ask it: the password fallback's password-realm grant, the
/// refresh re-mint's refresh grant, then `/userinfo` with the upstream's access token. One retry policy, one
/// reading of the answers, one description of a failure for the tenant log (never a body, token or secret).
///
/// Retry policy, per call: once more on a network error, a timeout or a 5xx, never on a 4xx, never past the
/// budget, and at most two requests in all. libcurl by itself resends a request whose reused keep-alive
/// connection died before any answer; that resend is counted as the retry. Our own retry opens a fresh
/// connection, which libcurl never resends.
public final class UpstreamAuth0 {
    /// Where the tenant answers, and how the log names each endpoint (as its operator configured it).
    public struct Endpoints: Sendable {
        public var token: String
        public var tokenLabel: String
        public var userinfo: String
        public var userinfoLabel: String

        public init(token: String, tokenLabel: String, userinfo: String, userinfoLabel: String) {
            self.token = token
            self.tokenLabel = tokenLabel
            self.userinfo = userinfo
            self.userinfoLabel = userinfoLabel
        }

        /// A tenant's `/oauth/token` and `/userinfo` under one base URL (a migration source's domain).
        public static func tenant(_ baseURL: String) -> Endpoints {
            Endpoints(
                token: baseURL + "/oauth/token", tokenLabel: "token endpoint", userinfo: baseURL + "/userinfo", userinfoLabel: "userinfo")
        }
    }

    /// Why the upstream did not vouch: `description` is the log's cause text; `status` the last HTTP status seen.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public var status: Int?
        /// The upstream's OAuth `error` code, sanitised as in `description`; nil without an answer or code.
        public var error: String? = nil

        /// The upstream did not accept the client itself (unknown `client_id`, wrong secret, or a client that may
        /// not use the grant): 401, `invalid_client` or `unauthorized_client` — as opposed to `invalid_grant`, a
        /// client it knows presenting a token that is not its own (or not valid).
        public var refusesTheClient: Bool {
            status == 401 || error == "invalid_client" || error == "unauthorized_client"
        }
    }

    /// Requests per call, the retry included.
    public static let maximumRequests = 2
    /// Less time than this left is no time to send a request.
    static let minimumAttempt = Duration.milliseconds(5)

    public let endpoints: Endpoints
    public let budget: UpstreamBudget
    /// Requests written to the upstream so far (libcurl's resends included; a refused connection counts as one).
    public private(set) var attempts = 0
    /// The last HTTP status the upstream answered; nil when the last request got no answer.
    public private(set) var lastStatus: Int?

    public init(_ endpoints: Endpoints, budget: UpstreamBudget) {
        self.endpoints = endpoints
        self.budget = budget
    }

    /// `grant_type=http://auth0.com/oauth/grant-type/password-realm`: the upstream's access token when it accepts
    /// the password.
    public func passwordRealmGrant(
        realm: String, username: String, password: String, clientId: String, secret: String, scope: String, forwardedFor: String?
    ) throws(Failure) -> String {
        try grant(
            [
                ("grant_type", GrantType.passwordRealm.rawValue), ("realm", realm), ("username", username), ("password", password),
                ("client_id", clientId), ("client_secret", secret), ("scope", scope),
            ], forwardedFor: forwardedFor)
    }

    /// `grant_type=refresh_token`: the upstream's access token when it redeems the refresh token. A public client
    /// sends no `secret`; `basic` sends the credentials as HTTP Basic instead of in the body. `maximumRequests`
    /// caps this call below the usual two (a fallback after another client's refusal gets what is left).
    public func refreshGrant(
        _ refreshToken: String, clientId: String, secret: String?, basic: Bool = false, scope: String?, audience: String?,
        forwardedFor: String?, maximumRequests: Int = UpstreamAuth0.maximumRequests
    ) throws(Failure) -> String {
        var fields = [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        var headers: [(String, String)] = []
        if basic, let secret {
            // RFC 6749 §2.3.1: each part form-urlencoded, then joined.
            let pair = FormURLEncoding.encodeComponent(clientId) + ":" + FormURLEncoding.encodeComponent(secret)
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        } else {
            fields.append(("client_id", clientId))
            if let secret { fields.append(("client_secret", secret)) }
        }
        if let scope { fields.append(("scope", scope)) }
        if let audience { fields.append(("audience", audience)) }
        return try grant(fields, headers: headers, forwardedFor: forwardedFor, maximumRequests: maximumRequests)
    }

    /// The profile the upstream's access token speaks for, with a usable `sub`.
    public func userinfo(accessToken: String) throws(Failure) -> UpstreamProfile {
        let label = endpoints.userinfoLabel
        let url = endpoints.userinfo
        let http = budget.http
        let answer = try call(label) { remaining, fresh throws(UpstreamError) in
            try http.get(
                url: url, headers: [("Authorization", "Bearer " + accessToken)], totalTimeout: .some(remaining), freshConnection: fresh)
        }
        guard answer.status == 200 else { throw Failure(description: "\(label) answered " + Self.describe(answer), status: answer.status) }
        guard let claims = Self.object(answer), let profile = UpstreamProfile(claims) else {
            throw Failure(description: "\(label) answered 200 without a usable JSON sub", status: answer.status)
        }
        return profile
    }

    func grant(
        _ fields: [(String, String)], headers extra: [(String, String)] = [], forwardedFor: String?,
        maximumRequests: Int = UpstreamAuth0.maximumRequests
    ) throws(Failure) -> String {
        let label = endpoints.tokenLabel
        let url = endpoints.token
        let http = budget.http
        let headers = extra + (forwardedFor.flatMap { $0.isEmpty ? nil : [("auth0-forwarded-for", $0)] } ?? [])
        let answer = try call(label, maximumRequests: maximumRequests) { remaining, fresh throws(UpstreamError) in
            try http.postForm(url: url, fields: fields, headers: headers, totalTimeout: .some(remaining), freshConnection: fresh)
        }
        guard answer.status == 200 else {
            throw Failure(description: "\(label) answered " + Self.describe(answer), status: answer.status, error: Self.errorCode(answer))
        }
        guard let accessToken = Self.object(answer)?["access_token"]?.stringValue, !accessToken.isEmpty else {
            throw Failure(description: "\(label) answered 200 without a JSON access_token", status: answer.status)
        }
        return accessToken
    }

    /// One call under the retry policy: an answer below 500 is returned; a 5xx or no answer is retried while
    /// requests and time remain, then thrown.
    func call(
        _ label: String, maximumRequests: Int = UpstreamAuth0.maximumRequests,
        _ send: (_ remaining: Duration, _ fresh: Bool) throws(UpstreamError) -> UpstreamResponse
    ) throws(Failure) -> UpstreamResponse {
        var requests = 0
        var last: String?
        while true {
            let remaining = budget.remaining
            guard remaining > Self.minimumAttempt else {
                throw Failure(
                    description: last.map { $0 + " (no time left to retry)" } ?? "\(label): time budget exhausted", status: lastStatus)
            }
            let sent: Int
            do {
                let answer = try send(remaining, requests > 0)
                sent = max(1, budget.http.requestsSent)
                lastStatus = answer.status
                guard (500...599).contains(answer.status) else {
                    attempts += sent
                    return answer
                }
                last = "\(label) answered " + Self.describe(answer)
            } catch {
                sent = max(1, budget.http.requestsSent)
                lastStatus = nil
                switch error.code {
                case .timeout: last = "\(label): timed out within the \(UpstreamBudget.milliseconds(budget.budget)) ms upstream timeout"
                case .connectionFailed, .other: last = "\(label): network error (\(error.code)): \(error.message)"
                case .invalidURL, .tooLarge, .unavailable:
                    attempts += sent
                    throw Failure(description: "\(label): \(error.code): \(error.message)", status: nil)
                }
            }
            attempts += sent
            requests += sent
            if requests >= min(maximumRequests, Self.maximumRequests) {
                throw Failure(description: (last ?? label) + " (after one retry)", status: lastStatus)
            }
        }
    }

    static func object(_ response: UpstreamResponse) -> [String: JSONValue]? {
        (try? JSON.decode(JSONValue.self, from: Data(response.body)))?.objectValue
    }

    /// `403 invalid_grant`: the status and the upstream's error code (ASCII letters, digits, `_`, `-`; at most 64),
    /// never its body.
    static func describe(_ response: UpstreamResponse) -> String {
        "\(response.status)" + (errorCode(response).map { " " + $0 } ?? "")
    }

    /// The answer's `error` (ASCII letters, digits, `_`, `-`; at most 64); nil when absent or empty.
    static func errorCode(_ response: UpstreamResponse) -> String? {
        let code = object(response)?["error"]?.stringValue.map {
            String($0.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }.prefix(64))
        }
        return code.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// What an upstream `/userinfo` vouched for: a usable `sub` and the profile's claims.
public struct UpstreamProfile: Sendable {
    public let sub: String
    public let claims: [String: JSONValue]

    /// Nil without a usable `sub`.
    public init?(_ claims: [String: JSONValue]) {
        guard let sub = claims["sub"]?.stringValue, Self.isValidSubject(sub) else { return nil }
        self.sub = sub
        self.claims = claims
    }

    /// A `sub` goes into store keys (the subject index) and user ids: 1–255 bytes, no control character, no `/`.
    public static func isValidSubject(_ sub: String) -> Bool {
        !sub.isEmpty && sub.utf8.count <= 255 && !sub.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "/" }
    }

    /// The `sub` split as `provider|id` when it names a provider: such a sub stays the local user id (`auth0|abc`
    /// stays `auth0|abc`), so the app's references and both migration paths land on one user. Nil for a bare sub.
    public var providerIdentity: (provider: String, id: String)? {
        let parts = sub.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// The local user id this identity keeps, when it keeps one (see `providerIdentity`).
    public var keptUserId: String? { providerIdentity.map { _ in sub } }

    func text(_ key: String) -> String? { claims[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }

    /// A new local user for this upstream identity on `connection`: the `sub` kept as its id when it names a
    /// provider (`isSocial` only for a provider other than `auth0`), else a fresh `auth0|…` id. `login` (what the
    /// user typed, and the upstream accepted) is indexed when the profile names no match.
    public func newUser(connection: String, login: String? = nil, passwordHash: String? = nil, now: Date = .now) -> User {
        var email = text("email")
        var username = text("username") ?? text("preferred_username")
        if let login {
            let typed = User.normalize(login)
            if ![email, username].compactMap({ $0.map(User.normalize) }).contains(typed) {
                if typed.contains("@") { if email == nil { email = login } } else if username == nil { username = login }
            }
        }
        var user = User(connection: connection, email: email, username: username, now: now)
        if let (provider, id) = providerIdentity {
            user.userId = sub
            user.identities = [User.Identity(connection: connection, userId: id, provider: provider, isSocial: provider != "auth0")]
        }
        user.upstreamSub = sub
        user.emailVerified = claims["email_verified"]?.boolValue ?? false
        user.name = text("name") ?? user.name
        user.nickname = text("nickname") ?? user.nickname
        user.givenName = text("given_name")
        user.familyName = text("family_name")
        user.picture = text("picture")
        user.passwordHash = passwordHash
        return user
    }

    /// True when `user` is this upstream identity (or was never tied to one).
    public func matches(_ user: User) -> Bool {
        user.upstreamSub.map { $0 == sub } ?? true
    }
}
