import FoundationEssentials
import GangwayPlatform

extension ManagementCall {
    /// Runs a Management API write and records it: `sapi` when it succeeds, `fapi` when it fails, with the
    /// operation as description, the calling client, the route and the status. The body may name the user
    /// it touched through `entry`. Request bodies are never copied into the log (they may carry a password).
    public func audited(
        _ operation: String, _ request: FunctionRequest, userId: String? = nil,
        _ body: (inout LogEntry) async throws -> GatewayResponse
    ) async throws -> GatewayResponse {
        var entry = LogEntry(type: "sapi", description: operation, clientId: token.clientId, userId: userId, ip: request.sourceIP)
        var details: [String: JSONValue] = [
            "request": ["method": .string(request.method), "path": .string(request.path)],
        ]
        do {
            let response = try await body(&entry)
            details["response"] = ["statusCode": .int(Int64(response.statusCode))]
            entry.details = details
            await log.record(entry)
            return response
        } catch {
            let failure = (error as? any HTTPAnswerable)?.httpError ?? HTTPError(500, "server_error", "Internal error.")
            entry.type = "fapi"
            details["response"] = [
                "statusCode": .int(Int64(failure.status)), "errorCode": .string(failure.code), "message": .string(failure.message),
            ]
            entry.details = details
            await log.record(entry)
            throw error
        }
    }
}

extension LogEntry {
    /// A log event as Auth0's `GET /api/v2/logs` returns it.
    public var managementJSON: JSONValue {
        var out: [String: JSONValue] = [
            "log_id": .string(log_id), "date": .string(ManagementDate.string(date)), "type": .string(type),
            "description": .string(description),
        ]
        out["client_id"] = client_id.map(JSONValue.string)
        out["user_id"] = user_id.map(JSONValue.string)
        out["user_name"] = user_name.map(JSONValue.string)
        out["connection"] = connection.map(JSONValue.string)
        out["ip"] = ip.map(JSONValue.string)
        out["details"] = details.map(JSONValue.object)
        return .object(out)
    }
}

extension ManagementCall {
    /// Auth0 pages through at most 1,000 log search results; so does Gangway.
    public static let maxLogResults = 1000

    /// One page of log events, newest first, and how many can be paged through (at most 1,000).
    public func logPage(_ paging: Paging) async throws -> (events: [LogEntry], total: Int) {
        let start = paging.page * paging.perPage
        guard start < Self.maxLogResults else {
            throw Paging.queryError("Query validation error: 'You can only page through the first \(Self.maxLogResults) records' on property page.")
        }
        // Keys are time-ordered, so the store lists oldest first: keep a window of the newest 1,000.
        var window: [StoreEntry] = []
        var after: String?
        let prefix = StoreKeys.logs(tenant.id)
        while true {
            let batch = try await store.list(prefix: prefix, after: after, limit: 1000)
            window.append(contentsOf: batch)
            if window.count > Self.maxLogResults { window.removeFirst(window.count - Self.maxLogResults) }
            guard batch.count == 1000, let last = batch.last else { break }
            after = last.key
        }
        let newestFirst = window.reversed()
        let page = try newestFirst.dropFirst(start).prefix(paging.perPage).map { try $0.decoded(LogEntry.self) }
        return (Array(page), newestFirst.count)
    }
}
