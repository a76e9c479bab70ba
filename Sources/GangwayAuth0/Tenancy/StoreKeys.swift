import GangwayPlatform

/// Where every record lives in the key-value store: the one list of key shapes (tests and the CLI use it too).
/// Everything a tenant owns sits under `t/<tenant id>/`, so one tenant's lookups can never reach another's
/// records. Functions ending in `s` (or named `…Prefix`) give the prefix a listing walks.
public enum StoreKeys {
    // MARK: Tenancy
    /// host (with port, lower-case) → tenant id
    public static func domain(_ host: String) -> String { "domains/\(host.lowercased())" }
    public static func tenant(_ id: String) -> String { tenantsPrefix + id }
    public static let tenantsPrefix = "tenants/"
    public static func signingKeys(_ tenant: String) -> String { "t/\(tenant)/signing-keys" }
    /// The old tenant's public keys, trusted during a migration's transition window (`UpstreamKeys`).
    public static func upstreamKeys(_ tenant: String) -> String { "t/\(tenant)/upstream-keys" }

    /// The `SecretBox` context of a `client_secret` sealed inside the record at `recordKey` (an application, a
    /// connection's password fallback, a migration source): a seal copied to another record does not open.
    public static func clientSecretContext(_ recordKey: String) -> String { recordKey + "#client_secret" }

    // MARK: Credentials
    public static func application(_ tenant: String, _ clientId: String) -> String { applications(tenant) + clientId }
    public static func applications(_ tenant: String) -> String { "t/\(tenant)/applications/" }
    /// An API by its identifier (audience): identifiers are immutable, so the key never moves.
    public static func resourceServer(_ tenant: String, _ identifier: String) -> String { resourceServers(tenant) + identifier }
    public static func resourceServers(_ tenant: String) -> String { "t/\(tenant)/apis/" }
    /// One client grant per (client, audience): the token endpoint's lookup, and what makes a duplicate pair a conflict.
    public static func clientGrant(_ tenant: String, _ clientId: String, _ audience: String) -> String {
        clientGrants(tenant, clientId: clientId) + audience
    }
    /// Every client grant of a tenant, or (with `clientId`) of one application.
    public static func clientGrants(_ tenant: String, clientId: String? = nil) -> String {
        "t/\(tenant)/client-grants/" + (clientId.map { $0 + "/" } ?? "")
    }

    // MARK: Directory
    public static func connection(_ tenant: String, _ id: String) -> String { connections(tenant) + id }
    public static func connections(_ tenant: String) -> String { "t/\(tenant)/connections/" }
    public static func user(_ tenant: String, _ userId: String) -> String { users(tenant) + userId }
    public static func users(_ tenant: String) -> String { "t/\(tenant)/users/" }
    /// Every login index entry of a tenant, all connections.
    public static func userLogins(_ tenant: String) -> String { "t/\(tenant)/user-logins/" }
    /// A login name (normalised email or username) on a connection → the user id that owns it.
    public static func userLogin(_ tenant: String, connection: String, _ normalizedLogin: String) -> String {
        userLogins(tenant) + "\(connection)/\(normalizedLogin)"
    }

    // MARK: Token
    /// Failed-login count of one username (its SHA-256, hex) on one connection.
    public static func loginFailures(_ tenant: String, connection: String, usernameHash: String) -> String {
        "t/\(tenant)/login-failures/\(connection)/\(usernameHash)"
    }
    public static func refreshToken(_ tenant: String, hash: String) -> String { refreshTokens(tenant) + hash }
    public static func refreshTokens(_ tenant: String) -> String { "t/\(tenant)/refresh-tokens/" }
    /// Present when a refresh-token family has been revoked (a rotated token was reused).
    public static func refreshTokenFamily(_ tenant: String, _ family: String) -> String { "t/\(tenant)/refresh-token-families/\(family)" }

    // MARK: Authorization (browser logins)
    /// A browser session, by the SHA-256 (hex) of the id its cookie carries: the store never holds the cookie value.
    public static func session(_ tenant: String, hash: String) -> String { sessions(tenant) + hash }
    public static func sessions(_ tenant: String) -> String { "t/\(tenant)/sessions/" }
    /// A login transaction: an `/authorize` request waiting for the user on the hosted login page.
    public static func loginTransaction(_ tenant: String, _ id: String) -> String { "t/\(tenant)/login-transactions/\(id)" }
    /// An authorization code, by its SHA-256 (hex).
    public static func authorizationCode(_ tenant: String, hash: String) -> String { "t/\(tenant)/authorization-codes/\(hash)" }
    /// Present while an access token (by its `jti`) is revoked: tokens from a reused authorization code.
    public static func revokedAccessToken(_ tenant: String, jti: String) -> String { "t/\(tenant)/revoked-access-tokens/\(jti)" }

    // MARK: Legacy endpoints
    /// Present for an hour after a `depnote` was written for one (endpoint, client) pair (its SHA-256, hex).
    public static func deprecationNotice(_ tenant: String, endpoint hash: String) -> String { "t/\(tenant)/deprecation-notices/\(hash)" }

    // MARK: Jobs (bulk import and export)
    public static func job(_ tenant: String, _ id: String) -> String { "t/\(tenant)/jobs/\(id)" }
    /// The uploaded users file of an import job, or the gzipped file an export job wrote.
    public static func jobFile(_ tenant: String, _ id: String) -> String { "t/\(tenant)/job-files/\(id)" }
    /// The outcome of each row of an import job, by row number (zero-padded: listed in file order).
    public static func jobRows(_ tenant: String, _ id: String) -> String { "t/\(tenant)/job-rows/\(id)/" }
    /// One of the tenant's two import-job slots (`JobQueue.importSlots`), held by an active import job's id.
    public static func importSlot(_ tenant: String, _ slot: Int) -> String { "t/\(tenant)/import-slots/\(slot)" }
    /// Every tenant's jobs waiting for the worker or being worked on: `job-queue/<tenant>/<job id>`.
    public static let jobQueue = "job-queue/"
    public static func queuedJob(_ tenant: String, _ id: String) -> String { jobQueue + "\(tenant)/\(id)" }

    // MARK: Log events
    public static func log(_ tenant: String, _ logId: String) -> String { logs(tenant) + logId }
    public static func logs(_ tenant: String) -> String { "t/\(tenant)/logs/" }

    // MARK: Migration
    public static func migrationSource(_ tenant: String, _ id: String) -> String { migrationSources(tenant) + id }
    public static func migrationSources(_ tenant: String) -> String { "t/\(tenant)/migration-sources/" }
    /// The claim on one upstream refresh token (its SHA-256, hex): redeemed once only.
    public static func upstreamRefreshToken(_ tenant: String, hash: String) -> String { "t/\(tenant)/upstream-refresh-tokens/\(hash)" }
    /// An upstream identity (provider + its `sub`) → the local user id it became.
    public static func upstreamSubject(_ tenant: String, provider: String, _ sub: String) -> String {
        "t/\(tenant)/upstream-subjects/\(provider)/\(sub)"
    }
}
