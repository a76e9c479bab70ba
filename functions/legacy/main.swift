// POST /oauth/ro, /delegation, /tokeninfo, /usernamepassword/login, /oauth/access_token and GET /user/ssodata —
// Auth0's legacy endpoints, disabled as on an Auth0 tenant today (issue 14; shared/reference/auth0-import-export.md
// §5): 403 `unauthorized_client` for the legacy grants, 404 for the removed endpoints, each description naming the
// replacement. Every caller is noted once per hour per application as Auth0's `depnote` log event, with its
// client_id (from the body or the query, when it sent one), so an operator can find who still calls them.
import GangwayAuth0

struct LegacyFunction: FunctionHandler {
    let name = "legacy"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let store = try context.store()
        let tenant = try await TenantDirectory(store: store).tenant(for: request)
        guard let endpoint = LegacyEndpoint.named(request.path) else { throw HTTPError.notFound() }
        // The caller's client_id if it can be read; a body that cannot be read still gets the endpoint's answer.
        let clientId = (try? TokenParameters(request).optional("client_id")) ?? request.query("client_id")
        try await endpoint.recordNotice(
            clientId: clientId, ip: request.sourceIP, store: store, tenant: tenant,
            log: TenantLog(store: store, tenant: tenant, logger: context.logger))
        var error = endpoint.httpError
        error.headers["cache-control"] = "no-store"
        throw error
    }
}

await Function.run(LegacyFunction())
