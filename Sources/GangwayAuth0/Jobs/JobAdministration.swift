import FoundationEssentials
import GangwayPlatform

/// The Management API's jobs (`/api/v2/jobs`): what the request function records. The work is the worker's.
extension ManagementCall {
    public var jobs: JobQueue { JobQueue(store: store, tenantId: tenant.id) }

    public static let noSuchJob = HTTPError(404, "inexistent_job", "The job does not exist.")

    /// `POST /api/v2/jobs/users-imports`: a multipart form with the `users` file and `connection_id`, `upsert`,
    /// `external_id`, `send_completion_email` (booleans as the strings "true"/"false"). Auth0's answers: 413
    /// above 512,000 bytes, 400 for a malformed or non-database connection, 429 while two import jobs are active.
    public func submitImport(_ request: FunctionRequest) async throws -> Job {
        guard let form = MultipartForm(contentType: request.header("content-type") ?? "", body: try request.body()) else {
            throw Payload.error("Payload validation error: 'The request must be multipart/form-data with a users file'.")
        }
        guard let users = form["users"] else { throw Payload.error("Payload validation error: 'Missing required property: users'.") }
        guard users.body.count <= JobQueue.maxImportBytes else {
            throw HTTPError(
                413, "request_entity_too_large", "Payload content length greater than maximum allowed: \(JobQueue.maxImportBytes)")
        }
        guard let connectionId = form["connection_id"]?.text, !connectionId.isEmpty else {
            throw Payload.error("Payload validation error: 'Missing required property: connection_id'.")
        }
        guard Self.isConnectionId(connectionId) else {
            throw Payload.error(
                "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.")
        }
        func flag(_ name: String, default value: Bool) throws(HTTPError) -> Bool {
            guard let text = form[name]?.text else { return value }
            switch text {
            case "true": return true
            case "false": return false
            default: throw Payload.error("Payload validation error: 'Expected type boolean but found type string' on property \(name).")
            }
        }
        let upsert = try flag("upsert", default: false)
        let sendEmail = try flag("send_completion_email", default: true)
        let externalId = form["external_id"]?.text.flatMap { $0.isEmpty ? nil : $0 }
        if let externalId, externalId.count > 255 {
            throw Payload.error(
                "Payload validation error: 'String is too long (\(externalId.count) chars), maximum 255' on property external_id.")
        }
        guard let (connection, _) = try await connections.get(connectionId) else {
            throw HTTPError(400, "inexistent_connection", "The connection does not exist.")
        }
        guard connection.isDatabase else {
            throw HTTPError(400, "operation_not_supported", "Connection must be a database connection")
        }
        let job = Job(
            id: Job.newId(), type: .usersImport, status: .pending, createdAt: .now, clientId: token.clientId ?? "",
            connectionId: connection.id,
            connection: connection.name, externalId: externalId, upsert: upsert, sendCompletionEmail: sendEmail)
        do {
            try await jobs.submitImport(job, file: users.body)
        } catch JobQueue.Failure.tooManyImports {
            throw HTTPError(
                429, "too_many_requests",
                "There are \(JobQueue.importSlots) active import users jobs, please wait until some of them are finished and try again")
        }
        return job
    }

    /// `POST /api/v2/jobs/users-exports`: `{connection_id?, format?, limit?, fields?}`.
    public func submitExport(_ payload: Payload) async throws -> Job {
        try payload.allowOnly(["connection_id", "format", "limit", "fields"])
        let format: String = (try payload.string("format", maxLength: 10) ?? nil) ?? "json"
        guard format == "json" || format == "csv" else {
            throw Payload.error("Payload validation error: 'No enum match for: \"\(format)\"' on property format.")
        }
        let limit = try payload.integer("limit", range: 1...Int(Int32.max))
        var fields: [Job.ExportField]?
        if let items = try payload.array("fields", maxItems: 100) {
            fields = try items.map { (item) throws(HTTPError) -> Job.ExportField in
                guard let name = item["name"]?.stringValue, !name.isEmpty, name.count <= 100 else {
                    throw Payload.error("Payload validation error: 'Missing required property: name' on property fields.")
                }
                if let value = item["export_as"], value.stringValue == nil {
                    throw Payload.error(
                        "Payload validation error: 'Expected type string but found type \(value.typeName)' on property fields.export_as.")
                }
                let exportAs = item["export_as"]?.stringValue
                if let exportAs, exportAs.count > 100 {
                    throw Payload.error("Payload validation error: 'String is too long' on property fields.export_as.")
                }
                return Job.ExportField(name: name, exportAs: exportAs)
            }
            if format == "csv", (fields?.count ?? 0) > UserExport.maxCSVFields {
                throw Payload.error("Payload validation error: 'Array is too long, maximum \(UserExport.maxCSVFields)' on property fields.")
            }
        }
        var connection: Connection?
        if let id = try payload.string("connection_id", maxLength: 64) ?? nil {
            guard Self.isConnectionId(id) else {
                throw Payload.error(
                    "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.")
            }
            guard let (found, _) = try await connections.get(id) else {
                throw HTTPError(400, "inexistent_connection", "The connection does not exist.")
            }
            connection = found
        }
        let job = Job(
            id: Job.newId(), type: .usersExport, status: .pending, createdAt: .now, clientId: token.clientId ?? "",
            connectionId: connection?.id,
            connection: connection?.name, format: format, limit: limit, fields: fields)
        try await jobs.submitExport(job)
        return job
    }

    /// The job by id (404 `inexistent_job` for an unknown or purged one).
    public func job(_ id: String?) async throws -> Job {
        guard let id, id.hasPrefix("job_"), let (job, _) = try await jobs.job(id) else { throw Self.noSuchJob }
        return job
    }

    /// Where a completed export's file is served: to the credentials' application that created the job only.
    public func exportLocation(_ job: Job) -> String? {
        guard job.type == .usersExport, job.status == .completed else { return nil }
        return tenant.issuer + "api/v2/jobs/\(job.id)/file"
    }

    /// The gzipped export, for the application that asked for it (any other gets 404, as if there were none).
    public func exportFile(_ id: String?) async throws -> (Job, [UInt8]) {
        let job = try await job(id)
        guard job.type == .usersExport, job.status == .completed, job.clientId == token.clientId ?? "", !job.clientId.isEmpty,
            let bytes = try await jobs.file(job.id)
        else { throw Self.noSuchJob }
        return (job, bytes)
    }

    static func isConnectionId(_ id: String) -> Bool {
        id.hasPrefix("con_") && id.count == 20
            && id.dropFirst(4).unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
            }
    }
}
