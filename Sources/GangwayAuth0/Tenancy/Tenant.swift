import FoundationEssentials
import GangwayPlatform
import Synchronization

/// One Auth0-style tenant: an issuer, the hosts it answers on, and its settings.
public struct Tenant: Codable, Sendable, Equatable {
    public var id: String
    /// `https://example.com/` — always with a trailing slash, byte for byte what tokens carry in `iss`.
    public var issuer: String
    /// Hosts (with port) whose requests belong to this tenant.
    public var domains: [String]
    /// The database connection used by the plain `password` grant.
    public var defaultConnection: String
    public var settings: Settings
    public var createdAt: Date
    /// Where `/v2/logout` without a `client_id` may send the browser back to (Auth0's tenant-level list).
    public var allowedLogoutURLs: [String]? = nil

    public struct Settings: Codable, Sendable, Equatable {
        public var accessTokenLifetime: Int = 86_400
        public var idTokenLifetime: Int = 36_000
        public var refreshTokenAbsoluteLifetime: Int = 2_592_000
        public var refreshTokenIdleLifetime: Int = 1_296_000
        /// Brute-force protection: this many consecutive failures within the window block the account.
        public var bruteForceLimit: Int = 3
        public var bruteForceWindow: Int = 300
        /// How long a brute-force block lasts (seconds) once the limit is reached.
        public var bruteForceBlockDuration: Int = 300
        /// A rotated refresh token presented again within this many seconds is accepted (two tabs racing);
        /// later, the reuse revokes the token's whole family.
        public var refreshTokenReuseLeeway: Int = 10
        /// Lazy migration: the total time (milliseconds) one request may spend on upstream Auth0 calls
        /// (password fallback, refresh-token re-mint), retries included.
        public var upstreamTimeoutMs: Int = 3_000
        /// Browser sessions (seconds), Auth0's defaults: a session ends after 3 days without activity
        /// (`idle_session_lifetime`) and 7 days after its login whatever happens (`session_lifetime`).
        public var sessionIdleLifetime: Int = 259_200
        public var sessionAbsoluteLifetime: Int = 604_800
        public init() {}

        enum CodingKeys: String, CodingKey {
            case accessTokenLifetime, idTokenLifetime, refreshTokenAbsoluteLifetime, refreshTokenIdleLifetime
            case bruteForceLimit, bruteForceWindow, bruteForceBlockDuration, refreshTokenReuseLeeway
            case upstreamTimeoutMs, sessionIdleLifetime, sessionAbsoluteLifetime
        }

        /// Every field is optional in stored records: settings added later take their defaults in old tenants.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Settings()
            func value(_ key: CodingKeys, _ fallback: Int) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? fallback }
            accessTokenLifetime = try value(.accessTokenLifetime, d.accessTokenLifetime)
            idTokenLifetime = try value(.idTokenLifetime, d.idTokenLifetime)
            refreshTokenAbsoluteLifetime = try value(.refreshTokenAbsoluteLifetime, d.refreshTokenAbsoluteLifetime)
            refreshTokenIdleLifetime = try value(.refreshTokenIdleLifetime, d.refreshTokenIdleLifetime)
            bruteForceLimit = try value(.bruteForceLimit, d.bruteForceLimit)
            bruteForceWindow = try value(.bruteForceWindow, d.bruteForceWindow)
            bruteForceBlockDuration = try value(.bruteForceBlockDuration, d.bruteForceBlockDuration)
            refreshTokenReuseLeeway = try value(.refreshTokenReuseLeeway, d.refreshTokenReuseLeeway)
            upstreamTimeoutMs = try value(.upstreamTimeoutMs, d.upstreamTimeoutMs)
            sessionIdleLifetime = try value(.sessionIdleLifetime, d.sessionIdleLifetime)
            sessionAbsoluteLifetime = try value(.sessionAbsoluteLifetime, d.sessionAbsoluteLifetime)
        }
    }

    /// The Management API's audience, `<issuer>api/v2/`.
    public var managementAudience: String { issuer + "api/v2/" }
    /// The audience that makes an access token good for /userinfo.
    public var userinfoAudience: String { issuer + "userinfo" }

    /// Normalises an issuer URL: scheme and host required, trailing slash added.
    public static func normalizedIssuer(_ raw: String) -> String? {
        guard raw.hasPrefix("http://") || raw.hasPrefix("https://") else { return nil }
        let rest = raw.drop(while: { $0 != ":" }).dropFirst(3)
        guard let host = rest.split(separator: "/", omittingEmptySubsequences: false).first, !host.isEmpty else { return nil }
        return raw.hasSuffix("/") ? raw : raw + "/"
    }

    /// The host (with port) an issuer URL names: the tenant's first domain.
    public static func host(ofIssuer issuer: String) -> String {
        let rest = issuer.drop(while: { $0 != ":" }).dropFirst(3)
        return String(rest.split(separator: "/", omittingEmptySubsequences: false).first ?? "").lowercased()
    }
}

/// Finds the tenant a request belongs to, by the host it addressed.
public struct TenantDirectory: Sendable {
    public let store: any KeyValueStore
    public init(store: any KeyValueStore) { self.store = store }

    /// `readingAhead`: keys the request will read next in the tenant it names (its id given), fetched with the
    /// tenant's record when the store reads ahead (`ReadAheadStore`). A warm process remembers which tenant each
    /// host named last time, so the domain, that tenant and those keys go in one round trip; only when the domain
    /// has since been moved to another tenant are that tenant and its keys read after it.
    public func tenant(host: String, readingAhead: (_ tenantId: String) -> [String] = { _ in [] }) async throws -> Tenant? {
        guard Self.isPlausibleHost(host) else { return nil }
        let domain = StoreKeys.domain(host)
        let guess = Self.tenantOfHost.withLock { $0[host] }
        if let guess { try await store.readAhead([domain, StoreKeys.tenant(guess)] + readingAhead(guess)) }
        guard let (id, _) = try await store.getCachedJSON(String.self, domain) else { return nil }
        if id != guess {
            try await store.readAhead([StoreKeys.tenant(id)] + readingAhead(id))
            Self.tenantOfHost.withLock { remembered in
                if remembered.count >= 64 { remembered.removeAll() }
                remembered[host] = id
            }
        }
        return try await store.getCachedJSON(Tenant.self, StoreKeys.tenant(id))?.0
    }

    /// The tenant id each host named when this process last looked (a guess to read ahead with, never trusted).
    private static let tenantOfHost = Mutex<[String: String]>([:])

    /// A `Host` header that can name a tenant: at most 255 bytes (a DNS name and a port) of printable ASCII.
    /// Anything else selects no tenant (404), checked before it could reach a store key.
    public static func isPlausibleHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255 && host.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }
    }

    /// The tenant for a request, or 404 in the endpoint's error shape.
    public func tenant(for request: FunctionRequest, readingAhead: (_ tenantId: String) -> [String] = { _ in [] }) async throws -> Tenant {
        guard let tenant = try await tenant(host: request.host, readingAhead: readingAhead) else {
            throw HTTPError(404, "unknown_tenant", "No tenant is configured for this host.")
        }
        return tenant
    }
}
