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
/// Whose client redeems it (Auth0 binds a refresh token to the application it was issued to): an application
/// imported from Auth0 (`Application.clientIdImported`) redeems as itself — its `client_id`, and for a
/// confidential client the secret it has just proved locally, only while that secret is the imported one; a public
/// client sends none. When the upstream refuses that client itself (401, `invalid_client`, `unauthorized_client`:
/// it does not know the application), the source's own client is tried once more, in the one request left of the
/// call's two; an `invalid_grant` (a known client, a token not its own) is final for that source. Any other
/// application redeems with the source's own client, as before. See `Redeemer`.
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

    /// The upstream client a token is redeemed as: the presenting application's own identity, or the source's.
    public struct Redeemer: Sendable {
        public enum Kind: String, Sendable { case application, source }
        public var kind: Kind
        public var clientId: String
        /// Nil for a public client (it sends no secret upstream either).
        var secret: String?
        var basic: Bool

        /// The presenting application as the upstream knows it; nil when it does not (its `client_id` was not
        /// imported from Auth0), or when it is confidential and its secret is no longer the imported one (rotated
        /// in Gangway: that secret never leaves Gangway) — then the source's own client redeems.
        public static func presenting(_ client: AuthenticatedClient) -> Redeemer? {
            let application = client.application
            guard application.clientIdImported == true else { return nil }
            guard client.authenticated else {
                return application.effectiveAuthMethod == .none
                    ? Redeemer(kind: .application, clientId: application.clientId, secret: nil, basic: false) : nil
            }
            guard application.secretImported == true, let secret = client.presentedSecret else { return nil }
            return Redeemer(kind: .application, clientId: application.clientId, secret: secret, basic: client.presentedWithBasic)
        }
    }

    public struct Success: Sendable {
        public var source: MigrationSource
        /// Whose client the upstream redeemed the token for (the log's `upstream_client`).
        public var redeemer: Redeemer.Kind
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

    /// Redeems `token` upstream as `presenting` (see `Redeemer.presenting`) where it is known, else as each source's
    /// own client.
    public func redeem(_ token: String, presenting: Redeemer? = nil, forwardedFor ip: String?) async throws -> Success {
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
                guard
                    let (profile, redeemer) = exchange(
                        token, at: source, presenting: presenting, budget: shared, ip: ip, failures: &failures)
                else { continue }
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
                return Success(source: source, redeemer: redeemer, user: resolved.user, created: resolved.created, failures: failures)
            }
            throw Failure.rejected(failures)
        } catch {
            if case Failure.alreadyRedeemed = error {} else { _ = try? await store.delete(key) }
            throw error
        }
    }

    // MARK: - Upstream

    /// Redeems the token at one source and fetches the profile: as `presenting` first when there is one, then — only
    /// if the upstream refused that client itself, and in the one request left of the call's two — as the source's
    /// own client. Every failure is appended to `failures` (`{source, client, cause}`), never thrown.
    func exchange(
        _ token: String, at source: MigrationSource, presenting: Redeemer?, budget: UpstreamBudget, ip: String?,
        failures: inout [JSONValue]
    ) -> (UpstreamProfile, Redeemer.Kind)? {
        let upstream = UpstreamAuth0(.tenant(source.baseURL), budget: budget)
        func failed(_ kind: Redeemer.Kind, _ cause: String) -> (UpstreamProfile, Redeemer.Kind)? {
            failures.append(["source": .string(source.id), "client": .string(kind.rawValue), "cause": .string(cause)])
            return nil
        }
        func redeem(as redeemer: Redeemer, maximumRequests: Int) throws(UpstreamAuth0.Failure) -> String {
            try upstream.refreshGrant(
                token, clientId: redeemer.clientId, secret: redeemer.secret, basic: redeemer.basic, scope: source.credentials.scope,
                audience: source.credentials.audience, forwardedFor: ip, maximumRequests: maximumRequests
            )
        }
        var requestsLeft = UpstreamAuth0.maximumRequests
        if let presenting {
            do throws(UpstreamAuth0.Failure) {
                let accessToken = try redeem(as: presenting, maximumRequests: requestsLeft)
                do throws(UpstreamAuth0.Failure) {
                    return (try upstream.userinfo(accessToken: accessToken), .application)
                } catch {
                    return failed(.application, error.description)
                }
            } catch {
                _ = failed(.application, error.description)
                // `invalid_grant`, a 5xx, a timeout: the application is known (or the upstream is down); the source's
                // client must not redeem a token bound to another application, nor spend a third request.
                requestsLeft -= upstream.attempts
                guard error.refusesTheClient, requestsLeft > 0 else { return nil }
            }
        }
        let secret: String
        do {
            secret = try SecretBox(configuration: configuration).open(
                source.credentials.clientSecretSealed, context: MigrationSource.secretContext(tenant.id, source.id)
            )
        } catch {
            return failed(.source, "the source's client secret cannot be opened (GANGWAY_SECRET_KEY missing or changed)")
        }
        let own = Redeemer(kind: .source, clientId: source.credentials.clientId, secret: secret, basic: false)
        do throws(UpstreamAuth0.Failure) {
            let accessToken = try redeem(as: own, maximumRequests: requestsLeft)
            return (try upstream.userinfo(accessToken: accessToken), .source)
        } catch {
            return failed(.source, error.description)
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
