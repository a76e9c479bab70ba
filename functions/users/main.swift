// Management API: users (`/api/v2/users`). Errors have the Management API shape {statusCode, error, message, errorCode}.
//
// - GET    /api/v2/users        read:users    page, per_page (≤ 100), include_totals → {users,start,limit,length,total};
//                                             search (`q`) is not supported: 400 rather than an unfiltered list
// - GET    /api/v2/users/{id}   read:users    404 inexistent_user "The user does not exist."
// - POST   /api/v2/users        create:users  {connection, email, password, …} → 201; 409 "The user already exists."
// - PATCH  /api/v2/users/{id}   update:users  profile, blocked, email, username, password; metadata merged shallowly
// - DELETE /api/v2/users/{id}   delete:users  → 204
//
// Ids arrive percent-decoded (`auth0%7Cabc` → `auth0|abc`). Every write is logged as `sapi`/`fapi`.
// Password hashes never leave the store.
import GangwayAuth0

struct UsersFunction: FunctionHandler {
    let name = "users"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id")
        switch request.routeKey {
        case "GET /api/v2/users":
            let call = try await context.management(request, anyOf: ["read:users"])
            try Paging.rejectUnsupported(request, ["q"])  // search is not built: never answer it with everyone
            let paging = try Paging(request)
            let (users, total) = try await call.usersPage(paging)
            return try paging.response(key: "users", items: users.map(\.managementJSON), total: total)

        case "GET /api/v2/users/{id}":
            let call = try await context.management(request, anyOf: ["read:users"])
            let (user, _) = try await call.user(id)
            return try .json(200, user.managementJSON, headers: Management.noStore)

        case "POST /api/v2/users":
            let call = try await context.management(request, anyOf: ["create:users"])
            return try await call.audited("Create a User", request) { entry in
                let user = try await call.createUser(NewUser(Payload(request)))
                entry.userId = user.userId
                entry.userName = user.email
                entry.connection = user.connection
                return try .json(201, user.managementJSON, headers: Management.noStore)
            }

        case "PATCH /api/v2/users/{id}":
            let call = try await context.management(request, anyOf: ["update:users"])
            return try await call.audited("Update a User", request, userId: id) { _ in
                let user = try await call.updateUser(id, UserChanges(Payload(request)))
                return try .json(200, user.managementJSON, headers: Management.noStore)
            }

        case "DELETE /api/v2/users/{id}":
            let call = try await context.management(request, anyOf: ["delete:users"])
            return try await call.audited("Delete a User", request, userId: id) { entry in
                let user = try await call.deleteUser(id)
                entry.userName = user.email
                return GatewayResponse(statusCode: 204, headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(UsersFunction())
