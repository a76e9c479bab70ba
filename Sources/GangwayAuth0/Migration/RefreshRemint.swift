import FoundationEssentials
import GangwayPlatform

extension RefreshTokens {
    /// Gangway's own refresh-token shape: `v1.` + 32 random bytes in base64url (43 characters). A token of this
    /// shape is judged locally only and never goes upstream; any other token cannot be a local one.
    public static func isGangwayFormat(_ token: String) -> Bool {
        guard token.hasPrefix("v1.") else { return false }
        let body = token.utf8.dropFirst(3)
        return body.count == 43 && body.allSatisfy { b in
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
        }
    }
}

/// Refresh-token re-mint: a refresh token Gangway never issued is redeemed at the tenant's enabled migration
/// sources (creation order) — upstream `POST /oauth/token` (`grant_type=refresh_token`), then `GET /userinfo` —
/// and the local user is resolved by (provider, upstream `sub`), created when missing.
///
/// Once only: the presented token's SHA-256 is claimed (insert-if-absent, `pending`) before any upstream call
/// and marked `reminted` before tokens are minted, so a second presentation — concurrent or later, rotating
/// upstream or not — is refused without an upstream call. A claim whose every source failed is released (an
/// upstream outage does not burn the token); a crashed attempt's claim expires.
///
/// Upstream failures never escape: each source gets the remaining share of one total time budget
/// (`Tenant.Settings.upstreamTimeoutMs`) and one retry on a network error or 5xx, never on a 4xx; whatever goes
/// wrong (refused, timeout, 4xx, 5xx, malformed JSON, /userinfo failure) moves on to the next source.
public struct RefreshRemint: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant
    public let configuration: Configuration

    public init(store: any KeyValueStore, tenant: Tenant, configuration: Configuration = Configuration()) {
        self.store = store
        self.tenant = tenant
        self.configuration = configuration
    }

    /// The record kept for a presented upstream token (under its hash; the token itself is never stored).
    public struct Claim: Codable, Sendable {
        public enum State: String, Codable, Sendable { case pending, reminted }
        public var state: State
        public var at: Int64
        public var source: String?
        public var userId: String?
    }

    public struct Success: Sendable {
        public var source: MigrationSource
        public var user: User
        public var created: Bool
        /// Sources that failed before this one, with their causes (for the log).
        public var failures: [JSONValue]
    }

    public enum Failure: Error, Sendable {
        /// No enabled source, or every source rejected or failed: `[{source, cause}]`.
        case rejected([JSONValue])
        /// The token was re-minted before (or is being re-minted right now).
        case alreadyRedeemed(String)
        /// The upstream accepted the token but no local user can speak for it (blocked, email taken…).
        case userUnavailable(source: String, cause: String, failures: [JSONValue])
    }

    func claimKey(_ hash: String) -> String { StoreKeys.upstreamRefreshToken(tenant.id, hash: hash) }
    func subjectKey(_ provider: String, _ sub: String) -> String { StoreKeys.upstreamSubject(tenant.id, provider: provider, sub) }
    static func now() -> Int64 { Int64(Date.now.timeIntervalSince1970) }

    public func redeem(_ token: String, forwardedFor ip: String?) async throws -> Success {
        let sources = try await MigrationSources(store: store, tenant: tenant).all().filter(\.enabled)
        guard !sources.isEmpty else { throw Failure.rejected([["cause": "no enabled migration source"]]) }

        let budget = Duration.milliseconds(max(1, tenant.settings.upstreamTimeoutMs))
        let key = claimKey(Digest.sha256Hex(token))
        // A pending claim outlives any honest attempt (the budget, the minting) and then frees the token again.
        let pendingTTL = Duration.seconds(max(60, tenant.settings.upstreamTimeoutMs / 1000 * 4))
        guard try await store.insertJSONIfAbsent(key, Claim(state: .pending, at: Self.now()), ttl: pendingTTL) else {
            let existing = try await store.getJSON(Claim.self, key)?.0
            throw Failure.alreadyRedeemed(
                existing?.state == .pending ? "the upstream refresh token is being re-minted by a concurrent request"
                    : "the upstream refresh token was already re-minted once"
            )
        }
        do {
            let clock = ContinuousClock()
            let deadline = clock.now + budget
            let http = UpstreamClient(connectTimeout: min(.seconds(2), budget), totalTimeout: budget, maxResponseBytes: 256 * 1024)
            var failures: [JSONValue] = []
            for source in sources {
                let profile: [String: JSONValue]
                switch exchange(token, at: source, deadline: deadline, clock: clock, http: http, ip: ip) {
                case .failure(let cause):
                    failures.append(["source": .string(source.id), "cause": .string(cause.text)])
                    continue
                case .success(let p):
                    profile = p
                }
                let (user, created): (User, Bool)
                do {
                    (user, created) = try await resolveUser(profile, source)
                } catch let UserUnavailable.because(cause) {
                    throw Failure.userUnavailable(source: source.id, cause: cause, failures: failures)
                }
                // Marked before minting: from here on the token is spent, whatever happens next.
                guard let (_, version) = try await store.getJSON(Claim.self, key),
                    try await store.compareAndSwapJSON(
                        key, expectedVersion: version, Claim(state: .reminted, at: Self.now(), source: source.id, userId: user.userId)
                    ) != nil
                else { throw Failure.alreadyRedeemed("the re-mint claim was lost (took longer than its lease)") }
                return Success(source: source, user: user, created: created, failures: failures)
            }
            throw Failure.rejected(failures)
        } catch {
            if case Failure.alreadyRedeemed = error {} else { _ = try? await store.delete(key) }
            throw error
        }
    }

    // MARK: - Upstream

    struct Cause: Error { var text: String }

    /// Redeems the token at one source and fetches the profile; every failure is a cause, never a throw.
    func exchange(
        _ token: String, at source: MigrationSource, deadline: ContinuousClock.Instant, clock: ContinuousClock,
        http: UpstreamClient, ip: String?
    ) -> Result<[String: JSONValue], Cause> {
        let secret: String
        do {
            secret = try SecretBox(configuration: configuration).open(
                source.credentials.clientSecretSealed, context: MigrationSource.secretContext(tenant.id, source.id)
            )
        } catch {
            return .failure(Cause(text: "the source's client secret cannot be opened (GANGWAY_SECRET_KEY missing or changed)"))
        }
        var fields = [
            ("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", source.credentials.clientId),
            ("client_secret", secret),
        ]
        if let scope = source.credentials.scope { fields.append(("scope", scope)) }
        if let audience = source.credentials.audience { fields.append(("audience", audience)) }
        let headers = ip.map { [("auth0-forwarded-for", $0)] } ?? []
        let base = source.baseURL

        let tokenResponse = call("token endpoint", deadline: deadline, clock: clock) { remaining throws(UpstreamError) in
            try http.postForm(url: base + "/oauth/token", fields: fields, headers: headers, totalTimeout: .some(remaining))
        }
        guard case .success(let answer) = tokenResponse else { return tokenResponse.map { _ in [:] } }
        guard answer.status == 200 else { return .failure(Cause(text: "token endpoint answered " + Self.describe(answer))) }
        guard let body = Self.object(answer), let accessToken = body["access_token"]?.stringValue, !accessToken.isEmpty else {
            return .failure(Cause(text: "token endpoint answered 200 without a JSON access_token"))
        }

        let userinfo = call("userinfo", deadline: deadline, clock: clock) { remaining throws(UpstreamError) in
            try http.get(url: base + "/userinfo", headers: [("Authorization", "Bearer " + accessToken)], totalTimeout: .some(remaining))
        }
        guard case .success(let info) = userinfo else { return userinfo.map { _ in [:] } }
        guard info.status == 200 else { return .failure(Cause(text: "userinfo answered " + Self.describe(info))) }
        guard let profile = Self.object(info), let sub = profile["sub"]?.stringValue, Self.isValidSubject(sub) else {
            return .failure(Cause(text: "userinfo answered 200 without a usable JSON sub"))
        }
        return .success(profile)
    }

    /// One upstream request within what is left of the budget; retried once on a network error or 5xx.
    func call(
        _ what: String, deadline: ContinuousClock.Instant, clock: ContinuousClock,
        _ send: (Duration) throws(UpstreamError) -> UpstreamResponse
    ) -> Result<UpstreamResponse, Cause> {
        var last = Cause(text: "\(what): time budget exhausted")
        for attempt in 0..<2 {
            let remaining = deadline - clock.now
            guard remaining > .milliseconds(1) else {
                return .failure(attempt == 0 ? Cause(text: "\(what): time budget exhausted") : Cause(text: last.text + " (no time left to retry)"))
            }
            do {
                let response = try send(remaining)
                guard response.status >= 500 else { return .success(response) }
                last = Cause(text: "\(what) answered " + Self.describe(response))
            } catch {
                last = Cause(text: "\(what): " + (error.code == .timeout ? "timed out" : "network error (\(error.code)): \(error.message)"))
            }
        }
        return .failure(Cause(text: last.text + " (after one retry)"))
    }

    static func object(_ response: UpstreamResponse) -> [String: JSONValue]? {
        (try? JSON.decode(JSONValue.self, from: Data(response.body)))?.objectValue
    }

    /// `403 invalid_grant`: the status and the upstream's error code (ASCII letters, digits, `_`, `-`), never its body.
    static func describe(_ response: UpstreamResponse) -> String {
        let code = object(response)?["error"]?.stringValue.map { String($0.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }.prefix(64)) }
        return "\(response.status)" + (code.map { $0.isEmpty ? "" : " " + $0 } ?? "")
    }

    static func isValidSubject(_ sub: String) -> Bool {
        !sub.isEmpty && sub.utf8.count <= 255 && !sub.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "/" }
    }

    // MARK: - The local user

    enum UserUnavailable: Error { case because(String) }

    /// The local user for an upstream profile: through the subject index, else by id (the upstream `sub` kept as
    /// the local user_id — `auth0|abc` stays `auth0|abc`, as the password fallback keeps it too), else created.
    func resolveUser(_ profile: [String: JSONValue], _ source: MigrationSource) async throws -> (User, Bool) {
        let sub = profile["sub"]?.stringValue ?? ""
        let index = subjectKey(source.provider, sub)
        let users = UserDirectory(store: store, tenant: tenant)
        // Blocked users are refused; a user tied to another upstream identity too. An untied one is tied to this
        // `sub` (`upstreamSub`, which the password fallback checks as well), so both paths agree on who it is.
        func usable(_ user: User) async throws -> User {
            guard !user.blocked else { throw UserUnavailable.because("the local user \(user.userId) is blocked") }
            if let tied = user.upstreamSub {
                guard tied == sub else { throw UserUnavailable.because("the local user \(user.userId) belongs to another upstream identity") }
                return user
            }
            return try await users.modify(user.userId) { if $0.upstreamSub == nil { $0.upstreamSub = sub } } ?? user
        }
        if let (mapped, _) = try await store.getJSON(String.self, index), let (user, _) = try await users.get(mapped) {
            return (try await usable(user), false)
        }
        let localId = sub.contains("|") ? sub : "auth0|" + sub
        for attempt in 0..<5 {
            if let (user, _) = try await users.get(localId) {
                _ = try await store.insertJSONIfAbsent(index, user.userId)
                return (try await usable(user), false)
            }
            do {
                let user = Self.newUser(localId, profile, connection: source.connection)
                try await users.create(user)
                if try await !store.insertJSONIfAbsent(index, user.userId) { try await store.putJSON(index, user.userId) }
                return (user, true)
            } catch UserDirectory.CreateError.loginTaken {
                // Someone (the password fallback, a concurrent re-mint) may be creating this very user: re-read.
                if attempt < 4 { try await Task.sleep(for: .milliseconds(40)) }
            }
        }
        throw UserUnavailable.because("the upstream user's email or username belongs to another local user")
    }

    static func newUser(_ userId: String, _ profile: [String: JSONValue], connection: String) -> User {
        func text(_ key: String) -> String? { profile[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        var user = User(connection: connection, email: text("email"), username: nil)
        user.userId = userId
        let parts = userId.split(separator: "|", maxSplits: 1).map(String.init)
        let provider = parts.count == 2 ? parts[0] : "auth0"
        user.identities = [
            User.Identity(connection: connection, userId: parts.last ?? userId, provider: provider, isSocial: provider != "auth0")
        ]
        user.upstreamSub = profile["sub"]?.stringValue
        user.emailVerified = profile["email_verified"]?.boolValue ?? false
        if let v = text("name") { user.name = v }
        if let v = text("nickname") { user.nickname = v }
        user.picture = text("picture")
        user.givenName = text("given_name")
        user.familyName = text("family_name")
        return user
    }
}
