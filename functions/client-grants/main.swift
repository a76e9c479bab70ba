// Management API: client grants (`/api/v2/client-grants`): which application may get client-credentials tokens
// for which API, with which scopes. Errors have the Management API shape {statusCode, error, message, errorCode}.
//
// - GET    /api/v2/client-grants       read:client_grants    filters `audience`, `client_id`; offset paging
//                                                            (page, per_page, include_totals) or checkpoint paging (from, take)
// - POST   /api/v2/client-grants       create:client_grants  {client_id, audience, scope[]} → 201; 404 unknown application
//                                                            or audience; 400 a scope the API does not define;
//                                                            409 the (client_id, audience) pair already has a grant
// - GET    /api/v2/client-grants/{id}  read:client_grants    404 inexistent_client_grant
// - PATCH  /api/v2/client-grants/{id}  update:client_grants  {scope[]} replaces the scope
// - DELETE /api/v2/client-grants/{id}  delete:client_grants  → 204
//
// Shape: {id: "cgr_…", client_id, audience, scope}. `/oauth/token` (client_credentials) issues only scopes the
// grant allows and the API still defines. Every write is logged as `sapi`/`fapi`.
import GangwayAuth0

struct ClientGrantsFunction: FunctionHandler {
    let name = "client-grants"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id")
        switch request.routeKey {
        case "GET /api/v2/client-grants":
            let call = try await context.management(request, anyOf: ["read:client_grants"])
            let paging = try Paging(request)
            func filter(_ name: String) -> String? { request.query(name).flatMap { $0.isEmpty ? nil : $0 } }
            let grants = try await call.clientGrants(clientId: filter("client_id"), audience: filter("audience"))
            return try paging.response(key: "client_grants", all: grants.map(\.value), id: \.id, json: ManagementCall.managementJSON)

        case "GET /api/v2/client-grants/{id}":
            let call = try await context.management(request, anyOf: ["read:client_grants"])
            return try .json(200, ManagementCall.managementJSON(try await call.clientGrant(id).value), headers: Management.noStore)

        case "POST /api/v2/client-grants":
            let call = try await context.management(request, anyOf: ["create:client_grants"])
            return try await call.audited("Create a Client Grant", request) { _ in
                let grant = try await call.createClientGrant(ClientGrantInput(Payload(request), creating: true))
                return try .json(201, ManagementCall.managementJSON(grant), headers: Management.noStore)
            }

        case "PATCH /api/v2/client-grants/{id}":
            let call = try await context.management(request, anyOf: ["update:client_grants"])
            return try await call.audited("Update a Client Grant", request) { _ in
                let grant = try await call.updateClientGrant(id, ClientGrantInput(Payload(request), creating: false))
                return try .json(200, ManagementCall.managementJSON(grant), headers: Management.noStore)
            }

        case "DELETE /api/v2/client-grants/{id}":
            let call = try await context.management(request, anyOf: ["delete:client_grants"])
            return try await call.audited("Delete a Client Grant", request) { _ in
                _ = try await call.deleteClientGrant(id)
                return GatewayResponse(statusCode: 204, headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(ClientGrantsFunction())
