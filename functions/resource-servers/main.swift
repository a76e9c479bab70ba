// Management API: APIs (`/api/v2/resource-servers`). Errors have the Management API shape {statusCode, error, message, errorCode}.
//
// - GET    /api/v2/resource-servers       read:resource_servers    page, per_page (≤ 100), include_totals
//                                                                  → {resource_servers,start,limit,length,total};
//                                                                  `identifiers` (repeatable) filters
// - POST   /api/v2/resource-servers       create:resource_servers  {identifier, name?, scopes?[{value, description?}],
//                                                                  signing_alg?: "RS256", token_lifetime?, token_lifetime_for_web?,
//                                                                  allow_offline_access?, skip_consent_for_verifiable_first_party_clients?}
//                                                                  → 201; 409 when the identifier is taken
// - GET    /api/v2/resource-servers/{id}  read:resource_servers    404 inexistent_resource_server
// - PATCH  /api/v2/resource-servers/{id}  update:resource_servers  partial update; `identifier` never changes (400)
// - DELETE /api/v2/resource-servers/{id}  delete:resource_servers  → 204, with the API's client grants
//
// `{id}` is the API's id or its identifier (percent-encoded: `https%3A%2F%2Fapi.example.com%2F`).
// Shape: {id, name, identifier, scopes, signing_alg, token_lifetime, token_lifetime_for_web, allow_offline_access,
// skip_consent_for_verifiable_first_party_clients, is_system}. The Management API (`is_system: true`) is listed,
// cannot be deleted, and takes only token_lifetime, token_lifetime_for_web and the consent flag.
// `/oauth/token` honours scopes, token_lifetime and allow_offline_access; the rest is stored and answered (README).
// Every write is logged as `sapi`/`fapi`.
import GangwayAuth0

struct ResourceServersFunction: FunctionHandler {
    let name = "resource-servers"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id")
        switch request.routeKey {
        case "GET /api/v2/resource-servers":
            let call = try await context.management(request, anyOf: ["read:resource_servers"])
            let paging = try Paging(request)
            let wanted = Set(request.query("identifiers").map { $0.split(separator: ",").map(String.init) } ?? [])
            let apis = try await call.resourceServers.all().filter { wanted.isEmpty || wanted.contains($0.identifier) }
            let page = apis.dropFirst(paging.page * paging.perPage).prefix(paging.perPage)
            return try paging.response(key: "resource_servers", items: page.map(call.resourceServers.managementJSON), total: apis.count)

        case "GET /api/v2/resource-servers/{id}":
            let call = try await context.management(request, anyOf: ["read:resource_servers"])
            let (api, _) = try await call.resourceServers.resourceServer(id)
            return try .json(200, call.resourceServers.managementJSON(api), headers: Management.noStore)

        case "POST /api/v2/resource-servers":
            let call = try await context.management(request, anyOf: ["create:resource_servers"])
            return try await call.audited("Create a Resource Server", request) { _ in
                let api = try await call.resourceServers.createResourceServer(ResourceServerInput(Payload(request), creating: true))
                return try .json(201, call.resourceServers.managementJSON(api), headers: Management.noStore)
            }

        case "PATCH /api/v2/resource-servers/{id}":
            let call = try await context.management(request, anyOf: ["update:resource_servers"])
            return try await call.audited("Update a Resource Server", request) { _ in
                let payload = try Payload(request)
                let api = try await call.resourceServers.updateResourceServer(id, ResourceServerInput(payload, creating: false), payload)
                return try .json(200, call.resourceServers.managementJSON(api), headers: Management.noStore)
            }

        case "DELETE /api/v2/resource-servers/{id}":
            let call = try await context.management(request, anyOf: ["delete:resource_servers"])
            return try await call.audited("Delete a Resource Server", request) { _ in
                _ = try await call.resourceServers.deleteResourceServer(id)
                return GatewayResponse(statusCode: 204, headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(ResourceServersFunction())
