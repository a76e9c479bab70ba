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
        self.init(
            rotating: true, leeway: tenant.settings.refreshTokenReuseLeeway,
            absoluteLifetime: tenant.settings.refreshTokenAbsoluteLifetime, idleLifetime: tenant.settings.refreshTokenIdleLifetime)
    }

    /// `application`'s settings over the tenant's (`expiration_type: non-expiring` and the `infinite_*` flags lift a limit).
    public init(application: Application, tenant: Tenant) {
        self.init(tenant: tenant)
        guard let settings = application.refreshToken else { return }
        if let rotation = settings["rotation_type"]?.stringValue { rotating = rotation == "rotating" }
        if let leeway = settings["leeway"]?.intValue { self.leeway = Int(leeway) }
        if let lifetime = settings["token_lifetime"]?.intValue { absoluteLifetime = Int(lifetime) }
        if let idle = settings["idle_token_lifetime"]?.intValue { idleLifetime = Int(idle) }
        if settings["infinite_token_lifetime"]?.boolValue == true { absoluteLifetime = nil }
        if settings["infinite_idle_token_lifetime"]?.boolValue == true { idleLifetime = nil }
        if settings["expiration_type"]?.stringValue == "non-expiring" {
            absoluteLifetime = nil
            idleLifetime = nil
        }
    }
}
