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
        var entry = LogEntry(
            type: .successAPIOperation, description: operation, clientId: token.clientId, userId: userId, ip: request.sourceIP)
        var details: [String: JSONValue] = [
            "request": ["method": .string(request.method), "path": .string(request.path)]
        ]
        do {
            let response = try await body(&entry)
            details["response"] = ["statusCode": .int(Int64(response.statusCode))]
            entry.details = details
            await log.record(entry)
            return response
        } catch {
            let failure = (error as? any HTTPAnswerable)?.httpError ?? HTTPError(500, "server_error", "Internal error.")
            entry.type = .failedAPIOperation
            details["response"] = [
                "statusCode": .int(Int64(failure.status)), "errorCode": .string(failure.code), "message": .string(failure.message),
            ]
            entry.details = details
            await log.record(entry)
            throw error
        }
    }
}
