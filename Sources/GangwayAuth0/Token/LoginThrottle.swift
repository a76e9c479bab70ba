import FoundationEssentials
import GangwayPlatform

/// Brute-force protection: `bruteForceLimit` consecutive failed logins for one normalised username on one
/// connection (within `bruteForceWindow` seconds) block that username for `bruteForceBlockDuration` seconds,
/// even with the right password. Counted per username, so it holds for usernames no user has (yet).
/// One store record per username, updated with compare-and-swap and kept only as long as it matters (TTL).
public struct LoginThrottle: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    public static let blocked = HTTPError(
        429, "too_many_attempts", "Your account has been blocked after multiple consecutive login attempts."
    )

    struct Record: Codable {
        var failures: Int
        /// When the first counted failure happened (unix seconds); the window runs from it.
        var since: Int64
        /// Set once the limit is reached (unix seconds).
        var blockedUntil: Int64?
    }

    /// The username is hashed: the record names no one, and any length fits in a key.
    func key(connection: String, username: String) -> String {
        StoreKeys.loginFailures(tenant.id, connection: connection, usernameHash: Digest.sha256Hex(User.normalize(username)))
    }

    private var settings: Tenant.Settings { tenant.settings }
    private static func now() -> Int64 { Int64(Date.now.timeIntervalSince1970) }

    /// True while the username is blocked on this connection.
    public func isBlocked(connection: String, username: String) async throws -> Bool {
        guard let (record, _) = try? await store.getJSON(Record.self, key(connection: connection, username: username)) else { return false }
        return (record.blockedUntil ?? 0) > Self.now()
    }

    /// Counts one failure; returns true when this failure reached the limit (the username is now blocked).
    @discardableResult
    public func recordFailure(connection: String, username: String) async throws -> Bool {
        let key = key(connection: connection, username: username)
        let limit = max(1, settings.bruteForceLimit)
        let window = Int64(max(1, settings.bruteForceWindow))
        var now = Self.now()
        // Kept while it matters: the rest of the window, or the block.
        let lifetime = { (record: Record) in Duration.seconds(max(1, (record.blockedUntil ?? record.since + window) - now)) }
        return try await store.update(Record.self, at: key, ttl: lifetime) { stored in
            now = Self.now()
            var record = Record(failures: 0, since: now, blockedUntil: nil)
            if let existing = stored, now - existing.since < window || existing.blockedUntil != nil {
                record = existing
            }
            record.failures += 1
            if record.failures >= limit && record.blockedUntil == nil {
                record.blockedUntil = now + Int64(max(1, settings.bruteForceBlockDuration))
            }
            stored = record
            return record.failures >= limit
        }
    }

    /// A successful login clears the count.
    public func reset(connection: String, username: String) async throws {
        let key = key(connection: connection, username: username)
        // Most logins have no failures to forget: a read is cheaper than a write transaction.
        guard try await store.get(key) != nil else { return }
        try await store.delete(key)
    }
}
