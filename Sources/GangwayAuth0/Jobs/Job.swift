import FoundationEssentials
import GangwayPlatform

/// A bulk job of Auth0's Management API (`/api/v2/jobs`): a users import or a users export. The request function
/// records it and returns; the worker function (`JobWorker`) does the work in chunks and records its progress in
/// the job after each one, so a killed worker's successor resumes at the last recorded row.
public struct Job: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case usersImport = "users_import"
        case usersExport = "users_export"
    }
    public enum Status: String, Codable, Sendable { case pending, processing, completed, failed }

    public var id: String
    public var type: Kind
    public var status: Status
    public var createdAt: Date
    /// The application whose Management API token created the job: only it may download an export.
    public var clientId: String
    public var connectionId: String?
    public var connection: String?
    public var externalId: String?
    public var upsert: Bool = false
    public var sendCompletionEmail: Bool = true
    /// Exports: `json` (NDJSON) or `csv`, the row limit and the fields asked for (nil: Auth0's default set).
    public var format: String?
    public var limit: Int?
    public var fields: [ExportField]?
    public var summary: Summary?
    public var statusDetails: String?

    // Progress, kept by the worker.
    /// Rows of the input handled so far (imports), or users written (exports).
    public var processed: Int = 0
    /// Rows in the input, once known.
    public var total: Int?
    /// A worker holds the job until then; after it a crashed worker's job is picked up again.
    public var leaseUntil: Date?
    public var startedAt: Date?
    public var finishedAt: Date?

    public struct Summary: Codable, Sendable, Equatable {
        public var failed = 0
        public var updated = 0
        public var inserted = 0
        public var total = 0
        public init() {}
    }

    public struct ExportField: Codable, Sendable, Equatable {
        public var name: String
        public var exportAs: String?
        public init(name: String, exportAs: String? = nil) {
            self.name = name
            self.exportAs = exportAs
        }
    }

    /// Auth0's job ids: `job_` and 16 alphanumerics.
    public static func newId() -> String { "job_" + Random.identifier(length: 16) }

    public var isActive: Bool { status == .pending || status == .processing }

    /// Jobs and everything they keep (input, rows, files) are deleted 24 hours after they were created, as on Auth0.
    public static let retention: Duration = .seconds(24 * 3600)
    /// A job still unfinished two hours after its creation is marked failed, as on Auth0.
    public static let timeout: Duration = .seconds(2 * 3600)

    /// Time the job's records have left to live.
    public func remainingLife(now: Date = .now) -> Duration {
        let left = createdAt.addingTimeInterval(Double(Self.retention.components.seconds)).timeIntervalSince(now)
        return .seconds(max(1, Int(left)))
    }

    /// The job as Auth0's Management API shows it. `location` is given for a completed export.
    public func managementJSON(location: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "type": .string(type.rawValue), "status": .string(status.rawValue),
            "created_at": .string(ManagementDate.string(createdAt)),
        ]
        o["connection_id"] = connectionId.map(JSONValue.string)
        if type == .usersImport {
            o["upsert"] = .bool(upsert)
            o["external_id"] = externalId.map(JSONValue.string)
            o["send_completion_email"] = .bool(sendCompletionEmail)
        } else {
            o["connection"] = connection.map(JSONValue.string)
            o["format"] = format.map(JSONValue.string)
            o["limit"] = limit.map { .int(Int64($0)) }
            o["fields"] = fields.map {
                .array($0.map { f in f.exportAs.map { ["name": .string(f.name), "export_as": .string($0)] } ?? ["name": .string(f.name)] })
            }
            o["location"] = location.map(JSONValue.string)
            if status == .processing, let total, total > 0 {
                o["percentage_done"] = .int(Int64(min(100, processed * 100 / total)))
            }
        }
        if let summary {
            o["summary"] = [
                "failed": .int(Int64(summary.failed)), "updated": .int(Int64(summary.updated)),
                "inserted": .int(Int64(summary.inserted)), "total": .int(Int64(summary.total)),
            ]
        }
        o["status_details"] = statusDetails.map(JSONValue.string)
        return .object(o)
    }
}

/// What happened to one row of an import: written to the store in the same batch as the user it created or
/// changed, so after a crash the row is known to be done and is never applied twice.
public struct ImportRow: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable { case inserted, updated, failed }
    public var outcome: Outcome
    /// For failed rows: the submitted user (secrets redacted) and why it failed.
    public var user: JSONValue?
    public var errors: [UserImportError]?

    public init(outcome: Outcome, user: JSONValue? = nil, errors: [UserImportError]? = nil) {
        self.outcome = outcome
        self.user = user
        self.errors = errors
    }
}
