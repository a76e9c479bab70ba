import FoundationEssentials
import GangwayPlatform

/// A tenant's jobs in the store: what the request function records and the worker picks up.
///
/// Every record of a job (the job, its file, its row journal, its queue entry) lives 24 hours, as on Auth0.
/// An import job holds one of the tenant's two import slots from submission until it finishes: the slot is
/// claimed in the same batch that records the job, so two racing submissions can never make a third active job.
public struct JobQueue: Sendable {
    public let store: any KeyValueStore
    public let tenantId: String

    public init(store: any KeyValueStore, tenantId: String) {
        self.store = store
        self.tenantId = tenantId
    }

    /// Auth0's limit of import jobs pending or processing at once, per tenant.
    public static let importSlots = 2
    /// Auth0's largest import file, in bytes.
    public static let maxImportBytes = 512_000

    public enum Failure: Error, Sendable, Equatable {
        /// Both import slots are held by active jobs.
        case tooManyImports
    }

    /// Records an import job and its file; `tooManyImports` when two are active already.
    public func submitImport(_ job: Job, file: [UInt8]) async throws {
        let ttl = job.remainingLife()
        let slotTTL = Job.timeout + .seconds(600)
        for slot in 0..<Self.importSlots {
            let outcome = try await store.commit([
                .insertJSON(StoreKeys.importSlot(tenantId, slot), job.id, ttl: slotTTL),
                .insertJSON(StoreKeys.job(tenantId, job.id), job, ttl: ttl),
                .put(StoreKeys.jobFile(tenantId, job.id), Data(file), ttl: ttl),
                .insertJSON(StoreKeys.queuedJob(tenantId, job.id), job.id, ttl: ttl),
            ])
            if outcome.committed { return }
        }
        throw Failure.tooManyImports
    }

    /// Records an export job.
    public func submitExport(_ job: Job) async throws {
        let ttl = job.remainingLife()
        _ = try await store.commit([
            .insertJSON(StoreKeys.job(tenantId, job.id), job, ttl: ttl),
            .insertJSON(StoreKeys.queuedJob(tenantId, job.id), job.id, ttl: ttl),
        ])
    }

    public func job(_ id: String) async throws -> (Job, Int64)? {
        try await store.getJSON(Job.self, StoreKeys.job(tenantId, id))
    }

    /// The uploaded file of an import, or the gzipped file of a completed export.
    public func file(_ id: String) async throws -> [UInt8]? {
        (try await store.get(StoreKeys.jobFile(tenantId, id))).map { Array($0.value) }
    }

    /// The failed rows of an import job, in file order.
    public func errors(_ id: String) async throws -> [ImportRow] {
        try await store.listAllJSON(ImportRow.self, prefix: StoreKeys.jobRows(tenantId, id)).map(\.value).filter { $0.outcome == .failed }
    }

    /// The summary of an import job, counted from its row journal (so a resumed job never counts a row twice).
    public func summary(_ id: String) async throws -> Job.Summary {
        var summary = Job.Summary()
        for row in try await store.listAllJSON(ImportRow.self, prefix: StoreKeys.jobRows(tenantId, id)) {
            summary.total += 1
            switch row.value.outcome {
            case .inserted: summary.inserted += 1
            case .updated: summary.updated += 1
            case .failed: summary.failed += 1
            }
        }
        return summary
    }

    /// Changes the job under compare-and-swap from the version the caller holds; the new version, or nil when the
    /// job changed meanwhile (another worker took it over).
    public func save(_ job: Job, over version: Int64) async throws -> Int64? {
        try await store.compareAndSwapJSON(StoreKeys.job(tenantId, job.id), expectedVersion: version, job, ttl: job.remainingLife())
    }

    /// Ends a job: its final state, its queue entry and (imports) its slot go in one batch.
    public func finish(_ job: Job, over version: Int64) async throws -> Bool {
        var operations: [StoreOperation] = [
            try .compareAndSwapJSON(StoreKeys.job(tenantId, job.id), expectedVersion: version, job, ttl: job.remainingLife()),
            .delete(StoreKeys.queuedJob(tenantId, job.id), expectedVersion: nil),
        ]
        for slot in 0..<Self.importSlots {
            if let (holder, slotVersion) = try await store.getJSON(String.self, StoreKeys.importSlot(tenantId, slot)), holder == job.id {
                operations.append(.delete(StoreKeys.importSlot(tenantId, slot), expectedVersion: slotVersion))
            }
        }
        return try await store.commit(operations).committed
    }
}
