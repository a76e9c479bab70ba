// Management API: account linking (`/api/v2/users/{id}/identities`), with the rules of Auth0's 2018 linking
// migration (see IdentityLinking). Errors have the Management API shape {statusCode, error, message, errorCode}.
//
// - POST   /api/v2/users/{id}/identities                      update:users: {provider, user_id, connection_id?} or
//                                                             {link_with}; update:current_user_identities: own id
//                                                             only, {link_with} only (user_id → 403) → 201 identities
// - DELETE /api/v2/users/{id}/identities/{provider}/{user_id} update:users, or update:current_user_identities on
//                                                             oneself → 200 remaining identities
//
// Ids arrive percent-decoded. ID tokens in Authorization are refused by the front door (401). Logged as `sapi`/`fapi`.
import GangwayAuth0

struct IdentitiesFunction: FunctionHandler {
    let name = "identities"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id") ?? ""
        let scopes = [IdentityLinking.serverScope, IdentityLinking.userScope]
        switch request.routeKey {
        case "POST /api/v2/users/{id}/identities":
            let call = try await context.management(request, anyOf: scopes)
            return try await call.audited("Link a User Account", request, userId: id) { _ in
                let secondary = try call.linkRequest(primaryId: id, Payload(request))
                let primary = try await call.link(primaryId: id, secondary)
                return try .json(201, JSONValue.array(primary.identities.map(\.managementJSON)), headers: Management.noStore)
            }

        case "DELETE /api/v2/users/{id}/identities/{provider}/{user_id}":
            let call = try await context.management(request, anyOf: scopes)
            return try await call.audited("Unlink a User Account", request, userId: id) { _ in
                let primary = try await call.unlink(
                    primaryId: id, provider: request.pathParameter("provider") ?? "", userId: request.pathParameter("user_id") ?? ""
                )
                return try .json(200, JSONValue.array(primary.identities.map(\.managementJSON)), headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(IdentitiesFunction())
