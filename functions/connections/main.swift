// Management API: connections (`/api/v2/connections`).
//
// - GET   /api/v2/connections       read:connections    filters `strategy` (repeatable), `name`; offset paging
//                                                       (page, per_page, include_totals) or checkpoint paging (from, take)
// - GET   /api/v2/connections/{id}  read:connections    404 inexistent_connection
// - PATCH /api/v2/connections/{id}  update:connections  `options` merged shallowly (null deletes a key)
//
// Shape: {id, name, display_name, strategy, options, enabled_clients, realms: [name], is_domain_connection: false}.
// Secrets inside options (client_secret, secret, password) are write-only: never in a response.
// Password fallback (lazy migration): `options.import_mode` (bool) and `options.configuration{token_endpoint,
// userinfo_endpoint, client_id, client_secret, realm?, timeout_ms?}`, validated (400 invalid_body naming the field);
// configuration is merged key by key; client_secret is sealed at rest and kept when omitted or echoed as `***`.
import GangwayAuth0

struct ConnectionsFunction: FunctionHandler {
    let name = "connections"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        switch request.routeKey {
        case "GET /api/v2/connections":
            let call = try await context.management(request, anyOf: ["read:connections"])
            let paging = try Paging(request)
            let matching = try await call.connections(strategies: request.query("strategy"), name: request.query("name"))
            return try await call.connectionList(matching, paging)

        case "GET /api/v2/connections/{id}":
            let call = try await context.management(request, anyOf: ["read:connections"])
            let (connection, _) = try await call.connection(request.pathParameter("id"))
            return try .json(200, connection.managementJSON(enabledClients: try await call.clientIds()), headers: Management.noStore)

        case "PATCH /api/v2/connections/{id}":
            let call = try await context.management(request, anyOf: ["update:connections"])
            return try await call.audited("Update a Connection", request) { entry in
                let connection = try await call.updateConnection(
                    request.pathParameter("id"), ConnectionChanges(Payload(request)),
                    box: try SecretBox(configuration: context.configuration)
                )
                entry.connection = connection.name
                return try .json(200, connection.managementJSON(enabledClients: try await call.clientIds()), headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(ConnectionsFunction())
