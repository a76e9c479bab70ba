import FoundationEssentials
import GangwayPlatform

/// A user's login session in one browser (Auth0's SSO session): what lets `/authorize` answer without a page,
/// including `prompt=none` from a hidden iframe. Server-side: the cookie carries only a random id, the store
/// keeps the record under that id's SHA-256, so neither a store dump nor a log line can be replayed as a cookie.
public struct BrowserSession: Codable, Sendable, Equatable {
    public var userId: String
    public var connection: String
    /// When the user last typed a password (`auth_time` in ID tokens; `max_age` and `prompt=login` move it).
    public var authTime: Int64
    public var createdAt: Int64
    public var lastActiveAt: Int64
    /// The `sid` claim of ID tokens and `logout_hint` of `/oidc/logout`: public, unlike the cookie's id.
    public var sid: String
    /// Applications that received an answer in this session.
    public var clients: [String]

    /// When it ends: the idle limit from the last activity, never past the absolute limit from its creation.
    public func expiresAt(_ settings: Tenant.Settings) -> Int64 {
        min(createdAt + Int64(settings.sessionAbsoluteLifetime), lastActiveAt + Int64(settings.sessionIdleLifetime))
    }
}

/// The store of browser sessions, and the cookies that point at them: `auth0` (`SameSite=None` over https, so a
/// cross-site iframe's silent authentication sees it) and `auth0_compat` (no SameSite, for browsers that refuse
/// `None`), both HttpOnly, host-only and `Secure` over https, as Auth0 sets them.
public struct Sessions: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    public static let cookieName = "auth0"
    public static let compatCookieName = "auth0_compat"

    static func now() -> Int64 { Int64(Date.now.timeIntervalSince1970) }
    func key(_ id: String) -> String { StoreKeys.session(tenant.id, hash: Digest.sha256Hex(id)) }

    /// The live session the request's cookie names, with its cookie id; nil without a cookie, for an unknown id,
    /// or once idle or absolute expiry passed.
    public func current(_ request: FunctionRequest) async throws -> (id: String, session: BrowserSession)? {
        for name in [Self.cookieName, Self.compatCookieName] {
            guard let id = request.cookie(name), !id.isEmpty, id.utf8.count <= 128 else { continue }
            if let (session, _) = try await store.getJSON(BrowserSession.self, key(id)), session.expiresAt(tenant.settings) > Self.now() {
                return (id, session)
            }
        }
        return nil
    }

    /// Starts a session after a login: a new id every time (a session id is never reused across logins, so one
    /// planted before the login is worth nothing), and ends the one the browser had, if any.
    public func start(userId: String, connection: String, replacing old: String?) async throws -> (id: String, session: BrowserSession) {
        let now = Self.now()
        let id = Random.token(bytes: 32)
        let session = BrowserSession(
            userId: userId, connection: connection, authTime: now, createdAt: now, lastActiveAt: now, sid: Random.token(bytes: 16),
            clients: [])
        _ = try await store.putJSON(key(id), session, ttl: ttl(session))
        if let old { try await store.delete(key(old)) }
        return (id, session)
    }

    /// How stale `lastActiveAt` may get before an answer writes it again: the idle limit is counted in days, so a
    /// silent authentication every few seconds need not write the session each time.
    public static let activityResolution: Int64 = 60

    /// Records activity (the idle limit counts from here) and the application answered; no write when both are
    /// already known to within `activityResolution`.
    public func touch(_ id: String, session current: BrowserSession, client: String) async throws {
        if current.clients.contains(client), Self.now() - current.lastActiveAt < Self.activityResolution { return }
        let lifetime = { (session: BrowserSession) -> Duration? in self.ttl(session) }
        try await store.update(BrowserSession.self, at: key(id), ttl: lifetime) { session in
            guard var s = session else { return }
            s.lastActiveAt = Self.now()
            if !s.clients.contains(client) { s.clients.append(client) }
            session = s
        }
    }

    public func end(_ id: String) async throws { try await store.delete(key(id)) }

    func ttl(_ session: BrowserSession) -> Duration { .seconds(max(1, session.expiresAt(tenant.settings) - Self.now())) }

    /// What ends both cookies in the browser (same names, path and attributes, expired).
    public var deletions: [SetCookie] { cookies("").map(\.deletion) }

    /// The two cookies for a session id; secure over https (the issuer's scheme).
    public func cookies(_ id: String) -> [SetCookie] {
        let secure = tenant.issuer.hasPrefix("https://")
        // Over plain http (local development) browsers refuse SameSite=None without Secure: Lax is what works there.
        return [
            SetCookie(
                name: Self.cookieName, value: id, maxAge: Int64(tenant.settings.sessionAbsoluteLifetime), secure: secure,
                sameSite: secure ? SetCookie.SameSite.none : .lax),
            SetCookie(
                name: Self.compatCookieName, value: id, maxAge: Int64(tenant.settings.sessionAbsoluteLifetime), secure: secure,
                sameSite: nil),
        ]
    }
}
