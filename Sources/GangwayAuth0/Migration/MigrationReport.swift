import FoundationEssentials
import GangwayPlatform

/// The migration report (`GET /api/v2/migration/report`, `gangway migrate status`): who has moved, what still
/// calls the old tenant, when the rest will have moved at the observed rate, and whether the old tenant can be
/// switched off. Read from `MigrationCounters` (a few records per day) and the upstream keys' record: never a scan
/// of users or logs.
public struct MigrationReport: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    public static let dayRange = 1...366
    /// The window of the forecast's rate and of the decommission checklist.
    public static let recentDays = 7

    typealias Kind = MigrationCounters.Kind

    public func build(days: Int = 30, now: Date = .now) async throws -> JSONValue {
        let dayNames = (0..<max(days, Self.recentDays)).reversed().map {
            MigrationCounters.day(now.addingTimeInterval(-Double($0) * 86_400))
        }
        let all = try await MigrationCounters.read(store, tenant: tenant, from: "0000")
        /// A kind's sum over the days named (every day counted when none are).
        func total(_ kind: String, in names: [String]? = nil) -> Int {
            (names ?? Array(all.keys)).reduce(0) { $0 + (all[$1]?[kind] ?? 0) }
        }
        func grouped(_ prefix: String, in names: [String]) -> [String: Int] {
            var out: [String: Int] = [:]
            for name in names {
                for (kind, value) in all[name] ?? [:] where kind.hasPrefix(prefix + "/") {
                    out[String(kind.dropFirst(prefix.count + 1)), default: 0] += value
                }
            }
            return out
        }
        func object(_ counts: [String: Int]) -> JSONValue { .object(counts.mapValues { .int(Int64($0)) }) }

        let window = Array(dayNames.suffix(days))
        let perDay: [JSONValue] = window.map { name in
            let counters = all[name] ?? [:]
            var day: [String: JSONValue] = ["date": .string(name)]
            for kind in [Kind.passwordMigrations, Kind.pendingCompleted, Kind.rehashes, Kind.refreshRemints, Kind.upstreamCalls] {
                day[kind] = .int(Int64(counters[kind] ?? 0))
            }
            day[Kind.upstreamFailures] = object(grouped(Kind.upstreamFailures, in: [name]))
            day[Kind.legacyCalls] = object(grouped(Kind.legacyCalls, in: [name]))
            day[Kind.upstreamTokens] = object(grouped(Kind.upstreamTokens, in: [name]))
            return .object(day)
        }

        let imported = total(Kind.pendingImported)
        let completed = total(Kind.pendingCompleted)
        let pending = max(0, imported - completed)
        let recent = Array(dayNames.suffix(Self.recentDays))
        let keys = try await UpstreamKeys.load(store, tenant: tenant)
        let upstreamCallsRecent = total(Kind.upstreamCalls, in: recent)
        let presenting = grouped(Kind.upstreamTokens, in: recent).keys.sorted()
        let legacyRecent = grouped(Kind.legacyCalls, in: recent).values.reduce(0, +)
        let keysOpen = keys.map { !$0.open(at: now).isEmpty } ?? false
        let decommission: JSONValue = [
            "upstream_calls_last_7_days": .int(Int64(upstreamCallsRecent)),
            "pending_users": .int(Int64(pending)),
            "transition_keys_deadline": keys.map { .string(ManagementDate.string($0.deadline)) } ?? .null,
            "transition_keys_open": .bool(keysOpen),
            "applications_presenting_upstream_tokens_last_7_days": .array(presenting.map(JSONValue.string)),
            "legacy_calls_last_7_days": .int(Int64(legacyRecent)),
            "ready": .bool(upstreamCallsRecent == 0 && pending == 0 && !keysOpen && presenting.isEmpty),
        ]
        return [
            "generated_at": .string(ManagementDate.string(now)),
            "users": [
                "imported_pending": .int(Int64(imported)), "completed": .int(Int64(completed)), "pending": .int(Int64(pending)),
                "migrated_at_first_login": .int(Int64(max(0, total(Kind.passwordMigrations) - completed))),
            ],
            "totals": [
                Kind.passwordMigrations: .int(Int64(total(Kind.passwordMigrations))), Kind.rehashes: .int(Int64(total(Kind.rehashes))),
                Kind.refreshRemints: .int(Int64(total(Kind.refreshRemints))), Kind.upstreamCalls: .int(Int64(total(Kind.upstreamCalls))),
                Kind.upstreamFailures: object(grouped(Kind.upstreamFailures, in: Array(all.keys))),
            ],
            "days": .array(perDay),
            "forecast": Self.forecast(
                imported: imported, completed: completed, recentCompletions: total(Kind.pendingCompleted, in: recent), now: now),
            "decommission": decommission,
        ]
    }

    /// When 95% and 99% of the imported users will have completed, at the rate of the last 7 days. The model is
    /// stated in the answer: completions per day as a Poisson rate, so the range is the rate's ± one standard
    /// deviation. Real migrations slow down as only rare visitors remain: read the dates as the earliest likely.
    static func forecast(imported: Int, completed: Int, recentCompletions: Int, now: Date) -> JSONValue {
        let model =
            "completions per day at the mean of the last 7 days (Poisson: range = rate ± one standard deviation); "
            + "migrations slow down as only rare visitors remain, so these are the earliest likely days"
        let rate = Double(recentCompletions) / Double(recentDays)
        let spread = Double(recentCompletions).squareRoot() / Double(recentDays)
        func milestone(_ share: Double) -> JSONValue {
            let remaining = max(0, (share * Double(imported)).rounded(.up) - Double(completed))
            if remaining == 0 { return ["reached": true] }
            guard rate > 0 else { return ["reached": false, "date": .null, "why": "no imported user completed in the last 7 days"] }
            func date(_ perDay: Double) -> JSONValue {
                perDay > 0 ? .string(MigrationCounters.day(now.addingTimeInterval(remaining / perDay * 86_400))) : .null
            }
            return ["reached": false, "date": date(rate), "earliest": date(rate + spread), "latest": date(rate - spread)]
        }
        return [
            "model": .string(model), "rate_per_day": .double((rate * 100).rounded() / 100),
            "p95": milestone(0.95), "p99": milestone(0.99),
        ]
    }
}
