import GangwayPlatform

/// What every browser-facing endpoint (`/authorize`, logout) starts from: the request, its tenant (by Host), the
/// store and the tenant log, and the function's configuration.
public class BrowserEndpoint {
    public let request: FunctionRequest
    public let store: any KeyValueStore
    public let tenant: Tenant
    public let log: TenantLog
    /// The function's configuration (`GANGWAY_SECRET_KEY` opens the signing key for implicit answers).
    public let configuration: Configuration

    required init(request: FunctionRequest, context: FunctionContext) async throws {
        self.request = request
        configuration = context.configuration
        store = try context.store()
        tenant = try await TenantDirectory(store: store).tenant(for: request)
        log = TenantLog(store: store, tenant: tenant, logger: context.logger)
    }

    /// Writes a tenant log event for this request (the browser's IP).
    public func record(_ type: LogEventType, _ description: String, clientId: String?, user: User? = nil, userId: String? = nil) async {
        await log.record(
            LogEntry(
                type: type, description: description, clientId: clientId, userId: user?.userId ?? userId,
                userName: user?.email ?? user?.username, connection: user?.connection, ip: request.sourceIP))
    }
}
