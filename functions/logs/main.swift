// Management API: tenant log events (`GET /api/v2/logs`, read:logs).
//
// Newest first; `page`, `per_page` (≤ 100, default 50), `include_totals` → {logs,start,limit,length,total}.
// As in Auth0, only the newest 1,000 events can be paged through. Events are Auth0 log events:
// {log_id, date (ISO-8601), type, description, client_id, user_id, user_name, connection, ip, details}.
import GangwayAuth0

struct LogsFunction: FunctionHandler {
    let name = "logs"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        guard request.routeKey == "GET /api/v2/logs" else { throw HTTPError.notFound() }
        let call = try await context.management(request, anyOf: ["read:logs"])
        let paging = try Paging(request)
        let (events, total) = try await call.logPage(paging)
        return try paging.response(key: "logs", items: events.map(\.managementJSON), total: total)
    }
}

await Function.run(LogsFunction())
