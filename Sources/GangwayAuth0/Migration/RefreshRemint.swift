import FoundationEssentials
import GangwayPlatform

extension RefreshTokens {
    /// Gangway's own refresh-token shape: `v1.` + 32 random bytes in base64url (43 characters). A token of this
    /// shape is judged locally only and never goes upstream; any other token cannot be a local one.
    public static func isGangwayFormat(_ token: String) -> Bool {
        guard token.hasPrefix("v1.") else { return false }
        let body = token.utf8.dropFirst(3)
        return body.count == 43
            && body.allSatisfy { b in
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
/// Upstream failures never escape: each source gets what is left of one total time budget
/// (`Tenant.Settings.upstreamTimeoutMs`) under `UpstreamAuth0`'s retry policy; whatever goes wrong (refused,
/// timeout, 4xx, 5xx, malformed JSON, /userinfo failure) moves on to the next source.
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
                existing?.state == .pending
                    ? "the upstream refresh token is being re-minted by a concurrent request"
                    : "the upstream refresh token was already re-minted once"
            )
        }
        do {
            let shared = UpstreamBudget(budget)
            var failures: [JSONValue] = []
            for source in sources {
                let profile: UpstreamProfile
                switch exchange(token, at: source, budget: shared, ip: ip) {
                case .failure(let cause):
                    failures.append(["source": .string(source.id), "cause": .string(cause.text)])
                    continue
                case .success(let p):
                    profile = p
                }
                guard let (_, claimVersion) = try await store.getJSON(Claim.self, key) else { throw Self.claimLost }
                let spend = { (user: User) in
                    try StoreOperation.compareAndSwapJSON(
                        key, expectedVersion: claimVersion, Claim(state: .reminted, at: Self.now(), source: source.id, userId: user.userId))
                }
                let resolved: Resolved
                do {
                    resolved = try await resolveUser(profile, source, spending: spend)
                } catch let UserUnavailable.because(cause) {
                    throw Failure.userUnavailable(source: source.id, cause: cause, failures: failures)
                }
                // Marked before minting: from here on the token is spent, whatever happens next. A user created
                // here was written in the same batch as the mark; an existing user's mark is this one write.
                if !resolved.spent {
                    guard try await store.commit([spend(resolved.user)]).committed else { throw Self.claimLost }
                }
                return Success(source: source, user: resolved.user, created: resolved.created, failures: failures)
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
    func exchange(_ token: String, at source: MigrationSource, budget: UpstreamBudget, ip: String?) -> Result<UpstreamProfile, Cause> {
        let secret: String
        do {
            secret = try SecretBox(configuration: configuration).open(
                source.credentials.clientSecretSealed, context: MigrationSource.secretContext(tenant.id, source.id)
            )
        } catch {
            return .failure(Cause(text: "the source's client secret cannot be opened (GANGWAY_SECRET_KEY missing or changed)"))
        }
        let upstream = UpstreamAuth0(.tenant(source.baseURL), budget: budget)
        do throws(UpstreamAuth0.Failure) {
            let accessToken = try upstream.refreshGrant(
                token, clientId: source.credentials.clientId, secret: secret, scope: source.credentials.scope,
                audience: source.credentials.audience, forwardedFor: ip
            )
            return .success(try upstream.userinfo(accessToken: accessToken))
        } catch {
            return .failure(Cause(text: error.description))
        }
    }

    // MARK: - The local user

    enum UserUnavailable: Error { case because(String) }

    static let claimLost = Failure.alreadyRedeemed("the re-mint claim was lost (took longer than its lease)")

    /// The local user for a profile; `spent` when the claim's `reminted` mark was written with it (a new user).
    struct Resolved {
        var user: User
        var created: Bool
        var spent: Bool
    }

    /// The local user for an upstream profile: through the subject index, else by id (the upstream `sub` kept as
    /// the local user_id — `auth0|abc` stays `auth0|abc`, as the password fallback keeps it too; see
    /// `UpstreamProfile.newUser`), else created — in one batch with its subject index and `spending(user)`, the
    /// claim's `reminted` mark, so a crash leaves either a pending claim and no user, or all three.
    func resolveUser(
        _ profile: UpstreamProfile, _ source: MigrationSource, spending: ((User) throws -> StoreOperation)? = nil
    ) async throws -> Resolved {
        let sub = profile.sub
        let index = subjectKey(source.provider, sub)
        let users = UserDirectory(store: store, tenant: tenant)
        // Blocked users are refused; a user tied to another upstream identity too. An untied one is tied to this
        // `sub` (`upstreamSub`, which the password fallback checks as well), so both paths agree on who it is.
        func usable(_ user: User) async throws -> User {
            guard !user.blocked else { throw UserUnavailable.because("the local user \(user.userId) is blocked") }
            if let tied = user.upstreamSub {
                guard tied == sub else {
                    throw UserUnavailable.because("the local user \(user.userId) belongs to another upstream identity")
                }
                return user
            }
            return try await users.modify(user.userId) { if $0.upstreamSub == nil { $0.upstreamSub = sub } } ?? user
        }
        for attempt in 0..<5 {
            // A racing re-mint of the same identity (a bare `sub` gets a fresh id) is found through the index.
            if let (mapped, _) = try await store.getJSON(String.self, index), let (user, _) = try await users.get(mapped) {
                return Resolved(user: try await usable(user), created: false, spent: false)
            }
            if let localId = profile.keptUserId, let (user, _) = try await users.get(localId) {
                _ = try await store.insertJSONIfAbsent(index, user.userId)
                return Resolved(user: try await usable(user), created: false, spent: false)
            }
            do {
                // The user and its subject index in one batch: no moment where a user exists that a later re-mint
                // of a bare `sub` (fresh id) could not find, and so would create twice.
                let user = profile.newUser(connection: source.connection)
                try await users.create(user, with: [.putJSON(index, user.userId)] + (spending.map { [try $0(user)] } ?? []))
                return Resolved(user: user, created: true, spent: spending != nil)
            } catch UserDirectory.Failure.conditionFailed {
                throw Self.claimLost
            } catch UserDirectory.Failure.loginTaken, UserDirectory.Failure.userIdTaken {
                // Someone (the password fallback, a concurrent re-mint) may be creating this very user: re-read.
                if attempt < 4 { try await Task.sleep(for: .milliseconds(40)) }
            }
        }
        throw UserUnavailable.because("the upstream user's email or username belongs to another local user")
    }
}
