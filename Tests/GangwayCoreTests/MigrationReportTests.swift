import Foundation
import Logging
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

@Suite("The migration report's counters")
struct MigrationReportTests {
    static let tenant = Tenant(
        id: "ten_report", issuer: "https://login.example.com/", domains: ["login.example.com"], defaultConnection: "db", settings: .init(),
        createdAt: .now)

    static func counted(_ type: LogEventType, client: String? = nil, _ details: [String: JSONValue]) -> [String: Int] {
        Dictionary(
            MigrationCounters.counts(for: LogEntry(type: type, description: "", clientId: client, details: details)), uniquingKeysWith: +)
    }

    @Test("each migration event counts in its kinds; an ordinary login counts nothing")
    func kinds() {
        #expect(Self.counted(.successLogin, [:]).isEmpty)
        #expect(Self.counted(.failedLoginWrongPassword, [:]).isEmpty)
        #expect(
            Self.counted(.successPasswordMigration, ["upstream_sub": "auth0|a", "created": false, "attempts": 2])
                == ["password_migrations": 1, "pending_completed": 1, "upstream_calls": 2])
        #expect(Self.counted(.successPasswordMigration, ["upstream_sub": "auth0|a", "created": true])["pending_completed"] == nil)
        #expect(Self.counted(.successPasswordMigration, ["imported_algorithm": "argon2"]) == ["rehashes": 1])
        #expect(
            Self.counted(.successRefreshTokenExchange, client: "app1", ["migrated_from": "mgs_1"])
                == ["refresh_remints": 1, "upstream_calls": 1, "upstream_tokens/app1": 1])
        #expect(Self.counted(.successRefreshTokenExchange, client: "app1", [:]).isEmpty)  // Gangway's own refresh token
        #expect(Self.counted(.deprecationNotice, client: "old", [:]) == ["legacy_calls/old": 1])
    }

    @Test("an upstream failure is classified by its recorded status, never by its message")
    func causes() {
        func cause(_ details: [String: JSONValue]) -> String? { UpstreamFailureCause(details)?.rawValue }
        #expect(cause(["upstream": "anything at all", "upstream_status": 503, "attempts": 2]) == "server_error")
        #expect(cause(["upstream": "503 (the words do not matter)", "upstream_status": 429, "attempts": 1]) == "rate_limited")
        #expect(cause(["upstream": "x", "upstream_status": 403, "attempts": 1]) == "refused")
        #expect(cause(["upstream": "x", "attempts": 3]) == "unreachable")
        #expect(cause(["upstream": "x", "attempts": 0]) == "other")  // misconfigured: nothing was sent
        #expect(cause(["upstream": .array([["cause": "x"]])]) == "other")
        #expect(cause([:]) == nil)
        #expect(
            Self.counted(.failedLoginUnknownUser, ["upstream": "x", "upstream_status": 502, "attempts": 2])
                == ["upstream_calls": 2, "upstream_failures/server_error": 1])
    }

    @Test("the report reads the counters the log wrote, day by day, and states its forecast")
    func report() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/kv.db")
        let log = TenantLog(store: store, tenant: Self.tenant, logger: Logger(label: "test"))
        let now = Date.now
        try await MigrationCounters.add(100, to: MigrationCounters.Kind.pendingImported, store: store, tenant: Self.tenant)
        for day in 0..<7 {
            let date = now.addingTimeInterval(-Double(day) * 86_400)
            for _ in 0..<2 {
                await log.record(
                    LogEntry(
                        type: .successPasswordMigration, description: "", details: ["upstream_sub": "auth0|x", "created": false],
                        date: date))
            }
        }
        let report = try await MigrationReport(store: store, tenant: Self.tenant).build(days: 3, now: now)
        #expect(report["users"]?["pending"]?.intValue == 86 && report["users"]?["completed"]?.intValue == 14)
        #expect(report["days"]?.arrayValue?.map { $0["password_migrations"]?.intValue } == [2, 2, 2])
        let forecast = report["forecast"]
        #expect(forecast?["rate_per_day"] == .double(2))
        // 95 of 100 complete when 81 more have: 40.5 days at 2 a day.
        #expect(forecast?["p95"]?["date"]?.stringValue == MigrationCounters.day(now.addingTimeInterval(81 / 2 * 86_400)))
        #expect(report["decommission"]?["ready"]?.boolValue == false)
    }
}
