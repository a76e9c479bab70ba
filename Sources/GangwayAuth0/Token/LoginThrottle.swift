import FoundationEssentials
import GangwayPlatform

/// Brute-force protection: `bruteForceLimit` consecutive failed logins of one user on one connection (within
/// `bruteForceWindow` seconds) block that user for `bruteForceBlockDuration` seconds, even with the right password.
///
/// - Counted per **user** once the login name resolves to one, so the user's email and username share one count;
///   per normalised **login name** while it resolves to nobody (a name no user has yet still locks, and the block
///   holds once the user exists).
/// - An attempt **claims a place before its password is checked**: failures plus attempts in flight never exceed
///   the limit, so of N parallel guesses at most the limit reach a password check. An attempt that finds no free
///   place waits (up to `waitLimit`) for those in flight: their success frees it, their failure blocks it. So
///   parallel logins with the right password all succeed, a little later; parallel guesses cannot outrun the count.
/// - One store record per subject, read-modify-written with compare-and-swap, kept only while it matters (TTL).
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
    /// How long an attempt waits for a place before it is refused as blocked.
    static let waitLimit = Duration.seconds(3)
    /// An attempt in flight longer than this crashed or was abandoned: its place is freed (a login takes < 10 s).
    static let abandonedAfterMs: Int64 = 15_000

    /// Whose attempts are counted.
    public enum Subject: Sendable, Equatable {
        /// A local user, by id: every login name of the user counts toward one limit.
        case user(String)
        /// A login name that resolves to no local user (yet), normalised as `User.normalize` does.
        case login(String)

        /// The subject is hashed: the record names no one, and any length fits in a key.
        var digest: String {
            switch self {
            case .user(let id): Digest.sha256Hex("user|" + id)
            case .login(let name): Digest.sha256Hex(User.normalize(name))
            }
        }
    }

    /// One claimed place: finish it with `finish(_:_:)`.
    public struct Attempt: Sendable {
        let key: String
        let stamp: Int64
    }

    /// How an attempt ended.
    public enum Result: Sendable {
        /// The password was right: the count is cleared.
        case succeeded
        /// A wrong password (or an unknown name): one failure more, which may block.
        case failed
        /// Ended without a verdict (a store error): the place is freed, nothing counted.
        case abandoned
    }

    struct Record: Codable {
        var failures: Int
        /// When the first counted failure happened (unix seconds); the window runs from it.
        var since: Int64
        /// Set once the limit is reached (unix seconds).
        var blockedUntil: Int64?
        /// Claim times (unix ms) of attempts whose password is being checked.
        var pending: [Int64]?
    }

    func key(connection: String, _ subject: Subject) -> String {
        StoreKeys.loginFailures(tenant.id, connection: connection, usernameHash: subject.digest)
    }

    private var settings: Tenant.Settings { tenant.settings }
    private static func nowMs() -> Int64 { Int64(Date.now.timeIntervalSince1970 * 1000) }

    /// Kept while it matters: the rest of the window, the block, or an attempt in flight.
    private func lifetime(_ record: Record) -> Duration {
        let now = Self.nowMs() / 1000
        let window = Int64(max(1, settings.bruteForceWindow))
        let until = max(record.blockedUntil ?? record.since + window, (record.pending ?? []).isEmpty ? 0 : now + 30)
        return .seconds(max(1, until - now))
    }

    /// True while the subject is blocked on this connection.
    public func isBlocked(connection: String, _ subject: Subject) async throws -> Bool {
        guard let (record, _) = try? await store.getJSON(Record.self, key(connection: connection, subject)) else { return false }
        return (record.blockedUntil ?? 0) > Self.nowMs() / 1000
    }

    private enum Verdict {
        case claimed(Int64)
        case full, blocked
    }

    /// A place for one password check; nil when the subject is blocked (refuse without checking).
    public func claim(connection: String, _ subject: Subject) async throws -> Attempt? {
        let key = key(connection: connection, subject)
        let limit = max(1, settings.bruteForceLimit)
        let window = Int64(max(1, settings.bruteForceWindow))
        let deadline = ContinuousClock.now + Self.waitLimit
        while true {
            let verdict: Verdict = try await store.update(Record.self, at: key, ttl: lifetime) { stored in
                let nowMs = Self.nowMs()
                let now = nowMs / 1000
                var record = Record(failures: 0, since: now)
                if let existing = stored {
                    if let until = existing.blockedUntil, until > now { return .blocked }
                    if existing.blockedUntil == nil, now - existing.since < window { record = existing }
                    record.pending = existing.pending?.filter { nowMs - $0 < Self.abandonedAfterMs }
                }
                let inFlight = record.pending?.count ?? 0
                guard record.failures + inFlight < limit else {
                    if stored != nil { stored = record }
                    return .full
                }
                record.pending = (record.pending ?? []) + [nowMs]
                stored = record
                return .claimed(nowMs)
            }
            switch verdict {
            case .claimed(let stamp): return Attempt(key: key, stamp: stamp)
            case .blocked: return nil
            case .full:
                guard ContinuousClock.now < deadline else { return nil }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Ends an attempt: frees its place and counts its result.
    public func finish(_ attempt: Attempt, _ result: Result) async throws {
        let limit = max(1, settings.bruteForceLimit)
        try await store.update(Record.self, at: attempt.key, ttl: lifetime) { stored in
            guard var record = stored else { return }
            if let i = record.pending?.firstIndex(of: attempt.stamp) { record.pending?.remove(at: i) }
            switch result {
            case .succeeded:
                record.failures = 0
                record.blockedUntil = nil
            case .failed:
                let now = Self.nowMs() / 1000
                if record.failures == 0 { record.since = now }
                record.failures += 1
                if record.failures >= limit, record.blockedUntil == nil {
                    record.blockedUntil = now + Int64(max(1, settings.bruteForceBlockDuration))
                }
            case .abandoned:
                break
            }
            // Nothing left to remember: the record goes (most logins end here).
            stored = record.failures == 0 && record.blockedUntil == nil && (record.pending ?? []).isEmpty ? nil : record
        }
    }
}
