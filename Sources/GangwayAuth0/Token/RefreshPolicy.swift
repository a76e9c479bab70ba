import GangwayPlatform

/// How one application's refresh tokens behave: its Auth0 `refresh_token` settings over the tenant's.
///
/// An application without settings (one made before `/api/v2/clients`, or by `gangway init`) keeps what Gangway
/// always did: rotating tokens with the tenant's reuse leeway, absolute and idle lifetimes. Settings sent for only
/// some fields change only those: the policy is exactly what `GET /api/v2/clients/{id}` shows as `refresh_token`.
public struct RefreshPolicy: Sendable, Equatable {
    /// Each use returns a new token (and the old one dies after `leeway`); non-rotating keeps the same token.
    public var rotating: Bool
    /// Seconds a just-rotated token may still be presented (two tabs refreshing at once).
    public var leeway: Int
    /// Seconds from the login after which the family expires; nil: never.
    public var absoluteLifetime: Int?
    /// Seconds without use after which a token expires; nil: never.
    public var idleLifetime: Int?

    public init(rotating: Bool, leeway: Int, absoluteLifetime: Int?, idleLifetime: Int?) {
        self.rotating = rotating
        self.leeway = leeway
        self.absoluteLifetime = absoluteLifetime
        self.idleLifetime = idleLifetime
    }

    /// The tenant's policy, which an application without `refresh_token` settings follows.
    public init(tenant: Tenant) {
        self.init(settings: Self.tenantSettings(tenant))
    }

    /// `application`'s settings over the tenant's (`expiration_type: non-expiring` and the `infinite_*` flags lift a limit).
    public init(application: Application, tenant: Tenant) {
        self.init(settings: Self.settings(of: application, tenant: tenant))
    }

    /// The effective `refresh_token` object: the tenant's values, overlaid by what the application stored. The one
    /// source of both the policy and what `GET /api/v2/clients/{id}` shows, so the two cannot disagree.
    public static func settings(of application: Application, tenant: Tenant) -> [String: JSONValue] {
        tenantSettings(tenant).merging(application.refreshToken ?? [:]) { _, stored in stored }
    }

    /// The tenant's behaviour in Auth0's `refresh_token` terms.
    static func tenantSettings(_ tenant: Tenant) -> [String: JSONValue] {
        [
            "rotation_type": "rotating", "expiration_type": "expiring", "leeway": .int(Int64(tenant.settings.refreshTokenReuseLeeway)),
            "token_lifetime": .int(Int64(tenant.settings.refreshTokenAbsoluteLifetime)),
            "idle_token_lifetime": .int(Int64(tenant.settings.refreshTokenIdleLifetime)),
            "infinite_token_lifetime": false, "infinite_idle_token_lifetime": false,
        ]
    }

    /// Reads an effective `refresh_token` object (every field present: `settings(of:tenant:)` made it).
    init(settings: [String: JSONValue]) {
        let expiring = settings["expiration_type"]?.stringValue != "non-expiring"
        func lifetime(_ key: String, unlessInfinite flag: String) -> Int? {
            guard expiring, settings[flag]?.boolValue != true else { return nil }
            return settings[key]?.intValue.map { Int($0) }
        }
        self.init(
            rotating: settings["rotation_type"]?.stringValue == "rotating",
            leeway: settings["leeway"]?.intValue.map { Int($0) } ?? 0,
            absoluteLifetime: lifetime("token_lifetime", unlessInfinite: "infinite_token_lifetime"),
            idleLifetime: lifetime("idle_token_lifetime", unlessInfinite: "infinite_idle_token_lifetime"))
    }
}
