import FoundationEssentials
import GangwayPlatform

/// The migration report's counters: one store record per tenant, UTC day and kind (`t/<tenant>/migration-counters/
/// <yyyy-mm-dd>/<kind>`), added to as the events happen, so the report reads a few records per day whatever the
/// number of users. `TenantLog.record` counts every log event that speaks of the migration (`counts(for:)`); a login
/// that is not a migration costs nothing, a migration event one counter write per kind it counts in.
public enum MigrationCounters {
    /// Counters live a little over a year (the report shows at most 366 days).
    static let retention: Duration = .seconds(400 * 86_400)

    /// Kinds; a kind with a `/` names its subject after it (an upstream failure's cause, a client id).
    public enum Kind {
        /// A password checked once upstream (`spm` from the fallback).
        public static let passwordMigrations = "password_migrations"
        /// …of those, users that were imported pending (by `gangway migrate from-auth0`) and are now complete.
        public static let pendingCompleted = "pending_completed"
        /// An imported non-bcrypt hash replaced by Gangway's at its first login (`spm` from a hash import).
        public static let rehashes = "rehashes"
        /// An upstream refresh token redeemed once and replaced (`sertft` from a re-mint).
        public static let refreshRemints = "refresh_remints"
        /// Calls to the old tenant (each attempt of a fallback or re-mint).
        public static let upstreamCalls = "upstream_calls"
        /// Failed upstream calls by cause (`upstream_failures/<cause>`, `UpstreamFailureCause`).
        public static let upstreamFailures = "upstream_failures"
        /// Legacy-endpoint calls by application (`legacy_calls/<client id>`, from `depnote`).
        public static let legacyCalls = "legacy_calls"
        /// Re-mints by application (`upstream_tokens/<client id>`): applications still presenting upstream tokens.
        public static let upstreamTokens = "upstream_tokens"
        /// Users `gangway migrate from-auth0` stored pending (no password hash).
        public static let pendingImported = "pending_imported"
    }

    /// The day a counter is kept under (UTC).
    public static func day(_ date: Date) -> String { String(ManagementDate.string(date).prefix(10)) }

    static func key(_ tenant: String, day: String, kind: String) -> String {
        prefix(tenant) + day + "/" + kind
    }

    static func prefix(_ tenant: String) -> String { "t/\(tenant)/migration-counters/" }

    /// Adds `amount` to a counter (compare-and-swap, retried on a lost race).
    public static func add(_ amount: Int, to kind: String, store: any KeyValueStore, tenant: Tenant, on date: Date = .now) async throws {
        guard amount != 0 else { return }
        try await store.update(
            Int.self, at: key(tenant.id, day: day(date), kind: kind), ttl: { _ in retention },
            { value in value = (value ?? 0) + amount })
    }

    /// What a log event adds to the counters (kind → amount); empty for events that are not about the migration.
    public static func counts(for event: LogEntry) -> [(String, Int)] {
        let details = event.details ?? [:]
        let attempts = details["attempts"]?.intValue.map(Int.init) ?? 1
        var out: [(String, Int)] = []
        switch event.type {
        case .successPasswordMigration where details["upstream_sub"] != nil:
            out = [(Kind.passwordMigrations, 1), (Kind.upstreamCalls, attempts)]
            if details["created"]?.boolValue == false { out.append((Kind.pendingCompleted, 1)) }
        case .successPasswordMigration where details["imported_algorithm"] != nil:
            out = [(Kind.rehashes, 1)]
        case .successRefreshTokenExchange where details["migrated_from"] != nil:
            let failed = details["upstream"]?.arrayValue?.count ?? 0
            out = [(Kind.refreshRemints, 1), (Kind.upstreamCalls, 1 + failed)]
            if let client = event.clientId { out.append((Kind.upstreamTokens + "/" + client, 1)) }
        case .deprecationNotice:
            out = [(Kind.legacyCalls + "/" + (event.clientId ?? "unknown"), 1)]
        default:
            break
        }
        // Every event that carries an upstream failure counts it by cause (a re-mint's earlier failed sources too).
        if let cause = UpstreamFailureCause(details) {
            if event.type != .successRefreshTokenExchange { out.append((Kind.upstreamCalls, attempts)) }
            out.append((Kind.upstreamFailures + "/" + cause.rawValue, 1))
        }
        return out
    }

    /// Every counter from `from` (a day) on: day → kind → value.
    public static func read(_ store: any KeyValueStore, tenant: Tenant, from: String) async throws -> [String: [String: Int]] {
        let prefix = prefix(tenant.id)
        var out: [String: [String: Int]] = [:]
        // Keys sort by day: start just before the first day's keys and page on.
        var after: String? = prefix + from
        while let cursor = after {
            let page = try await store.list(prefix: prefix, after: cursor, limit: 1000)
            for entry in page {
                let rest = entry.key.dropFirst(prefix.count)
                guard let slash = rest.firstIndex(of: "/"), let value = try? entry.decoded(Int.self) else { continue }
                out[String(rest[..<slash]), default: [:]][String(rest[rest.index(after: slash)...])] = value
            }
            after = page.count == 1000 ? page.last?.key : nil
        }
        return out
    }
}

/// Why an upstream call failed, by what the failure recorded (its HTTP status, or none for a transport failure),
/// never by its message.
public enum UpstreamFailureCause: String, Sendable, CaseIterable {
    /// No answer: timeout, refused or dropped connection, DNS.
    case unreachable
    /// 429 from the old tenant.
    case rateLimited = "rate_limited"
    /// 5xx from the old tenant.
    case serverError = "server_error"
    /// 401/403: a wrong password, an unknown or revoked refresh token, or credentials the old tenant refuses.
    case refused
    /// Anything else (a malformed answer, another status, a misconfiguration).
    case other

    init?(_ details: [String: JSONValue]) {
        if let list = details["upstream"]?.arrayValue {  // a re-mint's failed sources: causes without a status
            guard !list.isEmpty else { return nil }
            self = .other
            return
        }
        guard details["upstream"] != nil else { return nil }
        switch details["upstream_status"]?.intValue {
        case nil: self = (details["attempts"]?.intValue ?? 0) > 0 ? .unreachable : .other  // 0 attempts: misconfigured
        case 429: self = .rateLimited
        case let status? where status >= 500: self = .serverError
        case 401, 403: self = .refused
        default: self = .other
        }
    }
}
