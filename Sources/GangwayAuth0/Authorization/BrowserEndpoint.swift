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
}
