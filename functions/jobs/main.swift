// Management API: bulk jobs (`/api/v2/jobs`). Errors have the Management API shape {statusCode, error, message, errorCode}.
//
// - POST /api/v2/jobs/users-imports   create:users  multipart: users (a JSON array, ≤ 512,000 bytes, else 413),
//                                                   connection_id (a database connection), upsert, external_id,
//                                                   send_completion_email ("true"/"false") → 202 the job (pending);
//                                                   429 while the tenant has two import jobs pending or processing
// - POST /api/v2/jobs/users-exports   read:users    {connection_id?, format json|csv, limit?, fields?} → 201 the job
// - GET  /api/v2/jobs/{id}            read:users or create:users   the job; a completed export names its `location`
// - GET  /api/v2/jobs/{id}/errors     read:users or create:users   [{user, errors: [{code, message, path}]}] with
//                                                   secrets redacted; 204 when there are none
// - GET  /api/v2/jobs/{id}/file       read:users    a completed export's gzipped file, to the application that
//                                                   created the job only
//
// This function records the job and its file and returns; the `jobs-worker` function does the work. Jobs and
// everything they keep are deleted 24 hours after their creation (then 404 `inexistent_job`).
import GangwayAuth0

struct JobsFunction: FunctionHandler {
    let name = "jobs"
    let errors = ErrorShape.management
    /// An import's multipart body: Auth0's 512,000-byte file and the form around it; larger files get Auth0's 413.
    var maxBodyBytes: Int? { 640 * 1024 }

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let id = request.pathParameter("id")
        switch request.routeKey {
        case "POST /api/v2/jobs/users-imports":
            let call = try await context.management(request, anyOf: ["create:users"])
            return try await call.audited("Create import users job", request) { entry in
                let job = try await call.submitImport(request)
                entry.connection = job.connection
                return try .json(202, job.managementJSON(), headers: Management.noStore)
            }

        case "POST /api/v2/jobs/users-exports":
            let call = try await context.management(request, anyOf: ["read:users"])
            return try await call.audited("Create export users job", request) { entry in
                let job = try await call.submitExport(Payload(request))
                entry.connection = job.connection
                return try .json(201, job.managementJSON(), headers: Management.noStore)
            }

        case "GET /api/v2/jobs/{id}":
            let call = try await context.management(request, anyOf: ["read:users", "create:users"])
            let job = try await call.job(id)
            return try .json(200, job.managementJSON(location: call.exportLocation(job)), headers: Management.noStore)

        case "GET /api/v2/jobs/{id}/errors":
            let call = try await context.management(request, anyOf: ["read:users", "create:users"])
            let job = try await call.job(id)
            let failed = try await call.jobs.errors(job.id)
            guard !failed.isEmpty else { return GatewayResponse(statusCode: 204, headers: Management.noStore) }
            let items: [JSONValue] = failed.map { row in
                ["user": row.user ?? .null, "errors": .array((row.errors ?? []).map(\.managementJSON))]
            }
            return try .json(200, JSONValue.array(items), headers: Management.noStore)

        case "GET /api/v2/jobs/{id}/file":
            let call = try await context.management(request, anyOf: ["read:users"])
            let (job, bytes) = try await call.exportFile(id)
            return .binary(
                200, bytes,
                headers: [
                    "content-type": "application/gzip",
                    "content-disposition": "attachment; filename=\"\(call.tenant.id).\(job.format ?? "json").gz\"",
                    "cache-control": "no-store",
                ])

        default:
            throw HTTPError.notFound()
        }
    }
}

await Function.run(JobsFunction())
