import Foundation
import GangwayAuth0
import Mustache

/// `gangway migrate report --html FILE`: the migration report as one self-contained page (inline style and SVG
/// charts, no script, nothing fetched from anywhere), to open in a browser or attach to a ticket. Rendered with
/// swift-mustache, which escapes every value.
enum MigrationReportPage {
    /// One bar of a chart: its height in the 0–100 box and what its tooltip says.
    struct Bar {
        var x: Int
        var y: Int
        var height: Int
        var label: String
    }

    static let template = try! MustacheTemplate(
        string: """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <title>Migration report | {{tenant}}</title>
            <style>
            body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
            h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
            .muted{color:#5b6475}.cards{display:flex;gap:1rem;flex-wrap:wrap}
            .card{border:1px solid #d9dde5;border-radius:8px;padding:.75rem 1rem;min-width:10rem}
            .card b{display:block;font-size:1.6rem}
            table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #e7e9ee;text-align:right}
            td:first-child,th:first-child{text-align:left}
            .chart{border:1px solid #d9dde5;border-radius:8px;padding:.5rem}
            .ok{color:#176b32}.todo{color:#9a4a00}
            </style>
            </head>
            <body>
            <h1>Migration report</h1>
            <p class="muted">{{tenant}} · generated {{generated}} · last {{dayCount}} days</p>
            <div class="cards">
            <div class="card" id="imported"><b>{{imported}}</b>imported pending</div>
            <div class="card" id="completed"><b>{{completed}}</b>completed</div>
            <div class="card" id="pending"><b>{{pending}}</b>still pending</div>
            <div class="card"><b>{{firstLogin}}</b>migrated at first login</div>
            </div>
            <h2>Migrations per day</h2>
            <div class="chart">
            <svg id="chart" viewBox="0 0 {{width}} 120" width="100%" height="180" preserveAspectRatio="xMinYMid meet" role="img" aria-label="password migrations and re-mints per day">
            {{#migrations}}<rect x="{{x}}" y="{{y}}" width="{{barWidth}}" height="{{height}}" fill="#3b6fd8"><title>{{label}}</title></rect>{{/migrations}}
            {{#remints}}<rect x="{{x}}" y="{{y}}" width="{{barWidth}}" height="{{height}}" fill="#8fb0ef"><title>{{label}}</title></rect>{{/remints}}
            <line x1="0" y1="100" x2="{{width}}" y2="100" stroke="#9aa3b5"/>
            <text x="0" y="115" font-size="8" fill="#5b6475">{{firstDay}}</text>
            <text x="{{width}}" y="115" font-size="8" fill="#5b6475" text-anchor="end">{{lastDay}}</text>
            </svg>
            <p class="muted">dark: password migrations · light: refresh re-mints (most per day: {{peak}})</p>
            </div>
            <h2>Forecast</h2>
            <p>{{forecast}}</p>
            <p class="muted">{{model}}</p>
            <h2>Decommission checklist</h2>
            <table id="checklist">
            <tr><th>Check</th><th>Now</th></tr>
            {{#checklist}}<tr><td>{{name}}</td><td class="{{state}}">{{value}}</td></tr>{{/checklist}}
            </table>
            <p id="verdict" class="{{verdictState}}"><b>{{verdict}}</b></p>
            <h2>Per day</h2>
            <table id="days">
            <tr><th>Day</th><th>Password migrations</th><th>Completed</th><th>Re-mints</th><th>Upstream calls</th><th>Upstream failures</th><th>Legacy calls</th></tr>
            {{#days}}<tr><td>{{date}}</td><td>{{migrations}}</td><td>{{completed}}</td><td>{{remints}}</td><td>{{calls}}</td><td>{{failures}}</td><td>{{legacy}}</td></tr>{{/days}}
            </table>
            </body>
            </html>
            """)

    static func render(_ report: JSONValue, tenant: String) -> String {
        func n(_ v: JSONValue?) -> Int { Int(v?.intValue ?? 0) }
        func sum(_ v: JSONValue?) -> Int { (v?.objectValue ?? [:]).values.reduce(0) { $0 + Int($1.intValue ?? 0) } }
        func listed(_ v: JSONValue?) -> String {
            let pairs = (v?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.intValue ?? 0)" }
            return pairs.isEmpty ? "–" : pairs.joined(separator: ", ")
        }
        let days = report["days"]?.arrayValue ?? []
        let peak = max(1, days.map { max(n($0["password_migrations"]), n($0["refresh_remints"])) }.max() ?? 1)
        let slot = 20
        func bars(_ kind: String, offset: Int) -> [[String: Any]] {
            days.enumerated().map { index, day in
                let value = n(day[kind])
                let height = value * 100 / peak
                return [
                    "x": index * slot + offset, "y": 100 - height, "height": height, "barWidth": slot / 2 - 1,
                    "label": "\(day["date"]?.stringValue ?? ""): \(value)",
                ]
            }
        }
        let users = report["users"]
        let check = report["decommission"]
        let forecast = report["forecast"]
        func milestone(_ name: String, _ m: JSONValue?) -> String {
            if m?["reached"]?.boolValue == true { return "\(name) of the imported users have completed." }
            guard let date = m?["date"]?.stringValue else { return "\(name): \(m?["why"]?.stringValue ?? "no estimate")." }
            return "\(name) by \(date) (between \(m?["earliest"]?.stringValue ?? "?") and \(m?["latest"]?.stringValue ?? "later"))."
        }
        func item(_ name: String, _ value: String, done: Bool) -> [String: Any] {
            ["name": name, "value": value, "state": done ? "ok" : "todo"]
        }
        let presenting = (check?["applications_presenting_upstream_tokens_last_7_days"]?.arrayValue ?? []).compactMap(\.stringValue)
        let keysOpen = check?["transition_keys_open"]?.boolValue == true
        let deadline = check?["transition_keys_deadline"]?.stringValue
        let ready = check?["ready"]?.boolValue == true
        let values: [String: Any] = [
            "tenant": tenant, "generated": report["generated_at"]?.stringValue ?? "", "dayCount": days.count,
            "imported": n(users?["imported_pending"]), "completed": n(users?["completed"]), "pending": n(users?["pending"]),
            "firstLogin": n(users?["migrated_at_first_login"]),
            "width": max(days.count * slot, slot), "peak": peak,
            "migrations": bars("password_migrations", offset: 0), "remints": bars("refresh_remints", offset: slot / 2),
            "firstDay": days.first?["date"]?.stringValue ?? "", "lastDay": days.last?["date"]?.stringValue ?? "",
            "forecast": milestone("95%", forecast?["p95"]) + " " + milestone("99%", forecast?["p99"]),
            "model": "Model: " + (forecast?["model"]?.stringValue ?? ""),
            "checklist": [
                item(
                    "Upstream calls, last 7 days", String(n(check?["upstream_calls_last_7_days"])),
                    done: n(check?["upstream_calls_last_7_days"]) == 0),
                item("Pending users", String(n(check?["pending_users"])), done: n(check?["pending_users"]) == 0),
                item(
                    "Transition keys", deadline.map { (keysOpen ? "open until " : "closed since ") + $0 } ?? "none imported",
                    done: !keysOpen),
                item(
                    "Applications presenting upstream tokens", presenting.isEmpty ? "none" : presenting.joined(separator: ", "),
                    done: presenting.isEmpty),
                item(
                    "Legacy endpoint calls, last 7 days", String(n(check?["legacy_calls_last_7_days"])),
                    done: n(check?["legacy_calls_last_7_days"]) == 0),
            ],
            "verdict": ready ? "The old tenant can be switched off." : "Not yet: the old tenant is still needed.",
            "verdictState": ready ? "ok" : "todo",
            "days": days.reversed().map { day -> [String: Any] in
                [
                    "date": day["date"]?.stringValue ?? "", "migrations": n(day["password_migrations"]),
                    "completed": n(day["pending_completed"]),
                    "remints": n(day["refresh_remints"]), "calls": n(day["upstream_calls"]),
                    "failures": sum(day["upstream_failures"]) == 0 ? "–" : listed(day["upstream_failures"]),
                    "legacy": listed(day["legacy_calls"]),
                ]
            },
        ]
        return template.render(values)
    }
}
