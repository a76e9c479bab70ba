import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway migrate from-auth0`: one command that copies an Auth0 tenant's configuration (`Auth0TenantMigration`).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Start a migration off another identity service, and watch it.",
        subcommands: [FromAuth0.self, Status.self, Report.self])

    struct FromAuth0: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "from-auth0",
            abstract: "Copy an Auth0 tenant's applications, APIs, client grants, database connections and signing keys.",
            discussion: """
                Reads the old tenant's Management API with a machine-to-machine application there (scopes read:clients \
                read:client_keys read:resource_servers read:client_grants read:connections read:users). Applications keep \
                their client_id and client_secret. With --fallback-client (an old-tenant application holding the \
                password-realm grant) each database connection gets the password fallback and a migration source for \
                refresh-token re-mint. Idempotent: run it again to sync what changed upstream, or to resume. Prints a JSON \
                summary on stdout; progress on a terminal's stderr. The client secret may come from \
                GANGWAY_AUTH0_CLIENT_SECRET instead of the command line.
                """)
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "The old tenant's domain, e.g. acme.eu.auth0.com.") var domain: String
        @Option(help: "The machine-to-machine application's client_id at the old tenant.") var clientId: String
        @Option(help: "Its client_secret (default: $GANGWAY_AUTH0_CLIENT_SECRET).") var clientSecret: String?
        @Option(help: "The old tenant's application holding the password-realm grant, for the password fallback and re-mint.")
        var fallbackClient: String?
        @Flag(help: "Show what would change; write nothing.") var plan = false

        func run() async throws {
            guard let secret = clientSecret ?? ProcessInfo.processInfo.environment["GANGWAY_AUTH0_CLIENT_SECRET"], !secret.isEmpty else {
                throw ValidationError("give --client-secret or set GANGWAY_AUTH0_CLIENT_SECRET")
            }
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let upstream = try Auth0Management(domain: domain, clientId: clientId, clientSecret: secret)
            let migration = Auth0TenantMigration(
                store: kv, tenant: tenant, upstream: upstream, secrets: try store.secrets(), plan: plan, fallbackClientId: fallbackClient)
            let onTerminal = isatty(2) == 1
            let steps = try await migration.run { step, done, total in
                guard onTerminal else { return }
                FileHandle.standardError.write(Data("\r\(step): \(done)/\(total)\u{1B}[K".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
            let failed = steps.reduce(0) { $0 + $1.failed }
            try printJSON(
                JSONValue.object([
                    "plan": .bool(plan), "domain": .string(upstream.baseURL), "upstream_requests": .int(Int64(upstream.requestsSent)),
                    "steps": .array(
                        steps.map { step in
                            [
                                "name": .string(step.name), "created": .int(Int64(step.created)), "updated": .int(Int64(step.updated)),
                                "unchanged": .int(Int64(step.unchanged)), "skipped": .int(Int64(step.skipped)),
                                "failed": .int(Int64(step.failed)), "notes": .array(step.notes.map(JSONValue.string)),
                            ]
                        }),
                ]))
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The migration report: users moved and pending, recent days, the forecast, and whether the old tenant can go.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "Days of per-day counters (1–366).") var days = 14
        @Flag(help: "Print the report as JSON (what GET /api/v2/migration/report answers).") var json = false

        func run() async throws {
            guard MigrationReport.dayRange.contains(days) else { throw ValidationError("--days must be within 1–366") }
            let kv = try store.open()
            let report = try await MigrationReport(store: kv, tenant: try await tenant.resolve(in: kv)).build(days: days)
            if json { return try printJSON(report) }
            print(Self.text(report))
        }

        /// The report for a person at a terminal.
        static func text(_ r: JSONValue) -> String {
            func n(_ v: JSONValue?) -> String { v?.intValue.map { String($0) } ?? "0" }
            func counts(_ v: JSONValue?) -> String {
                let pairs = (v?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(n($0.value))" }
                return pairs.isEmpty ? "none" : pairs.joined(separator: ", ")
            }
            let users = r["users"]
            let forecast = r["forecast"]
            let check = r["decommission"]
            var lines = [
                "Users: \(n(users?["imported_pending"])) imported pending, \(n(users?["completed"])) completed, "
                    + "\(n(users?["pending"])) still pending; \(n(users?["migrated_at_first_login"])) migrated at their first login",
                "", "date        password  re-mint  upstream calls  upstream failures",
            ]
            for day in r["days"]?.arrayValue ?? [] {
                let date = day["date"]?.stringValue ?? ""
                lines.append(
                    date.padding(toLength: 12, withPad: " ", startingAt: 0)
                        + n(day["password_migrations"]).padding(toLength: 10, withPad: " ", startingAt: 0)
                        + n(day["refresh_remints"]).padding(toLength: 9, withPad: " ", startingAt: 0)
                        + n(day["upstream_calls"]).padding(toLength: 16, withPad: " ", startingAt: 0) + counts(day["upstream_failures"]))
            }
            func milestone(_ name: String, _ m: JSONValue?) -> String {
                if m?["reached"]?.boolValue == true { return "\(name) reached" }
                guard let date = m?["date"]?.stringValue else { return "\(name): \(m?["why"]?.stringValue ?? "no estimate")" }
                return "\(name) by \(date) (\(m?["earliest"]?.stringValue ?? "?") – \(m?["latest"]?.stringValue ?? "later"))"
            }
            var rate = "0"
            switch forecast?["rate_per_day"] {
            case .double(let d)?: rate = String(d)
            case .int(let i)?: rate = String(i)
            default: break
            }
            let keys: String
            if let deadline = check?["transition_keys_deadline"]?.stringValue {
                keys = (check?["transition_keys_open"]?.boolValue == true ? "open until " : "closed since ") + deadline
            } else {
                keys = "none imported"
            }
            let presenting = (check?["applications_presenting_upstream_tokens_last_7_days"]?.arrayValue ?? []).compactMap(\.stringValue)
            let verdict =
                check?["ready"]?.boolValue == true ? "→ the old tenant can be switched off" : "→ not yet: the old tenant is still needed"
            lines.append("")
            lines.append(
                "Forecast at \(rate) completions/day: " + milestone("95%", forecast?["p95"]) + "; " + milestone("99%", forecast?["p99"]))
            lines.append("  model: \(forecast?["model"]?.stringValue ?? "")")
            lines.append("")
            lines.append("Decommission checklist (last 7 days):")
            lines.append("  upstream calls: \(n(check?["upstream_calls_last_7_days"]))")
            lines.append("  pending users: \(n(check?["pending_users"]))")
            lines.append("  transition keys: \(keys)")
            lines.append("  applications presenting upstream tokens: \(presenting.isEmpty ? "none" : presenting.joined(separator: ", "))")
            lines.append("  legacy endpoint calls: \(n(check?["legacy_calls_last_7_days"]))")
            lines.append(verdict)
            return lines.joined(separator: "\n")
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the migration report as one self-contained HTML page (charts inline, nothing fetched).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "The page to write.") var html: String
        @Option(help: "Days of per-day counters (1–366).") var days = 30

        func run() async throws {
            guard MigrationReport.dayRange.contains(days) else { throw ValidationError("--days must be within 1–366") }
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let report = try await MigrationReport(store: kv, tenant: tenant).build(days: days)
            try Data(MigrationReportPage.render(report, tenant: tenant.issuer).utf8).write(to: URL(fileURLWithPath: html))
            print("wrote \(html)")
        }
    }
}
