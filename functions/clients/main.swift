// Management API: applications (`/api/v2/clients`), as Auth0 has them. Errors have the Management API shape.
//
// - GET    /api/v2/clients                    read:clients     filters app_type (comma-separated), is_first_party;
//                                                              page, per_page, include_totals → {clients, start, limit, length, total}
// - GET    /api/v2/clients/{id}               read:clients     404 inexistent_client "Client not found"
// - POST   /api/v2/clients                    create:clients   {name, app_type, callbacks, grant_types, …} → 201 with client_secret
// - PATCH  /api/v2/clients/{id}               update:clients   changes exactly the fields sent
// - DELETE /api/v2/clients/{id}               delete:clients   → 204; its refresh tokens stop working
// - POST   /api/v2/clients/{id}/rotate-secret update:client_keys → 200 with the new client_secret; the old one stops at once
//
// client_secret is answered only at creation, on rotation, and to a token holding read:client_keys (Auth0's rule).
// Gangway's import extension: with create:client_keys, POST may set client_id and client_secret (an application
// moved from Auth0 keeps both); a taken client_id is 409.
import GangwayAuth0

struct ClientsFunction: FunctionHandler {
    let name = "clients"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id")
        switch request.routeKey {
        case "GET /api/v2/clients":
            let call = try await context.management(request, anyOf: ["read:clients"])
            return try await call.clientList(request, call.applications(context.configuration))

        case "GET /api/v2/clients/{id}":
            let call = try await context.management(request, anyOf: ["read:clients"])
            let directory = call.applications(context.configuration)
            let application = try await call.client(id, in: directory)
            let secret = call.readsClientKeys ? directory.secret(of: application) : nil
            return try .json(200, application.managementJSON(secret: secret, tenant: call.tenant), headers: Management.noStore)

        case "POST /api/v2/clients":
            let call = try await context.management(request, anyOf: ["create:clients"])
            return try await call.audited("Create a Client", request) { _ in
                let new = try NewClient(Payload(request), mayImportKeys: call.token.scopes.contains("create:client_keys"))
                let secret = new.clientSecret ?? ApplicationDirectory.newSecret()
                let application = try await call.applications(context.configuration).create(new.application(), secret: secret)
                return try .json(201, application.managementJSON(secret: secret, tenant: call.tenant), headers: Management.noStore)
            }

        case "PATCH /api/v2/clients/{id}":
            let call = try await context.management(request, anyOf: ["update:clients"])
            return try await call.audited("Update a Client", request) { _ in
                let changes = try ClientSettings(Payload(request), atLeastOne: true)
                let directory = call.applications(context.configuration)
                let application = try await directory.modify(id ?? "") { changes.apply(to: &$0) }
                let secret = call.readsClientKeys ? directory.secret(of: application) : nil
                return try .json(200, application.managementJSON(secret: secret, tenant: call.tenant), headers: Management.noStore)
            }

        case "DELETE /api/v2/clients/{id}":
            let call = try await context.management(request, anyOf: ["delete:clients"])
            return try await call.audited("Delete a Client", request) { _ in
                try await call.applications(context.configuration).delete(id ?? "")
                return GatewayResponse(statusCode: 204, headers: Management.noStore)
            }

        case "POST /api/v2/clients/{id}/rotate-secret":
            let call = try await context.management(request, anyOf: ["update:client_keys"])
            return try await call.audited("Rotate a Client Secret", request) { _ in
                let (application, secret) = try await call.applications(context.configuration).rotateSecret(id ?? "")
                return try .json(200, application.managementJSON(secret: secret, tenant: call.tenant), headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(ClientsFunction())
