// Management API: migration sources (`/api/v2/migration-sources`): upstream Auth0 tenants whose refresh tokens
// `POST /oauth/token` redeems once and replaces with Gangway's own (refresh-token re-mint, issue 4).
//
// - GET    /api/v2/migration-sources       read:migration_sources    every source, in creation order (the order
//                                                                    re-mint tries them in); page/per_page/include_totals
// - POST   /api/v2/migration-sources       create:migration_sources  {name, provider?: "auth0", connection?, enabled?: true,
//                                                                    credentials{domain, client_id, client_secret, audience?, scope?}} → 201
// - GET    /api/v2/migration-sources/{id}  read:migration_sources    404 inexistent_migration_source
// - PATCH  /api/v2/migration-sources/{id}  update:migration_sources  true partial update (omitted fields, `enabled`
//                                                                    included, stay); credentials merged field by field
// - DELETE /api/v2/migration-sources/{id}  delete:migration_sources  → 204
// - GET    /api/v2/migration/report        read:migration_report     Gangway's extension: the migration report
//                                                                    (`MigrationReport`); `days` 1–366, default 30
//
// `credentials.client_secret` is write-only: sealed with SecretBox (GANGWAY_SECRET_KEY) in the store, answered
// only as `client_secret_hint`; a PATCH that omits it or echoes the hint keeps the stored secret, and a PATCH that
// changes `domain` or `client_id` must send the secret again. `domain`: a host[:port] (https), an https:// URL,
// or an http:// URL of a loopback host (local testing). Every write is logged as `sapi`/`fapi`.
import GangwayAuth0

struct MigrationSourcesFunction: FunctionHandler {
    let name = "migration-sources"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id")
        switch request.routeKey {
        case "GET /api/v2/migration-sources":
            let call = try await context.management(request, anyOf: ["read:migration_sources"])
            let paging = try Paging(request)
            let all = try await call.migrationSources.all()
            let page = all.dropFirst(paging.page * paging.perPage).prefix(paging.perPage)
            return try paging.response(key: "migration_sources", items: page.map(\.managementJSON), total: all.count)

        case "GET /api/v2/migration/report":
            let call = try await context.management(request, anyOf: ["read:migration_report"])
            let days = try Paging.integer(request, "days", default: 30, range: MigrationReport.dayRange)
            return try .json(
                200, try await MigrationReport(store: call.store, tenant: call.tenant).build(days: days), headers: Management.noStore)

        case "GET /api/v2/migration-sources/{id}":
            let call = try await context.management(request, anyOf: ["read:migration_sources"])
            let (source, _) = try await call.migrationSource(id)
            return try .json(200, source.managementJSON, headers: Management.noStore)

        case "POST /api/v2/migration-sources":
            let call = try await context.management(request, anyOf: ["create:migration_sources"])
            return try await call.audited("Create a Migration Source", request) { entry in
                let input = try MigrationSourceInput(Payload(request), creating: true)
                let source = try await call.createMigrationSource(input, box: try SecretBox(configuration: context.configuration))
                entry.connection = source.connection
                return try .json(201, source.managementJSON, headers: Management.noStore)
            }

        case "PATCH /api/v2/migration-sources/{id}":
            let call = try await context.management(request, anyOf: ["update:migration_sources"])
            return try await call.audited("Update a Migration Source", request) { entry in
                let input = try MigrationSourceInput(Payload(request), creating: false)
                let source = try await call.updateMigrationSource(id, input, box: try SecretBox(configuration: context.configuration))
                entry.connection = source.connection
                return try .json(200, source.managementJSON, headers: Management.noStore)
            }

        case "DELETE /api/v2/migration-sources/{id}":
            let call = try await context.management(request, anyOf: ["delete:migration_sources"])
            return try await call.audited("Delete a Migration Source", request) { entry in
                let source = try await call.deleteMigrationSource(id)
                entry.connection = source.connection
                return GatewayResponse(statusCode: 204, headers: Management.noStore)
            }

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(MigrationSourcesFunction())
