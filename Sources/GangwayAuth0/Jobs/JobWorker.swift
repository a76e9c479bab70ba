import FoundationEssentials
import GangwayPlatform
import Logging

/// Works on every tenant's queued jobs, a chunk at a time, until its time is up: the body of the `jobs-worker`
/// function (started by the local gateway on a timer, by an EventBridge schedule on AWS) and of nothing else.
///
/// Crash safety: a worker holds a job through a lease it renews after every chunk; the job records how many rows
/// are done, and each row's outcome is journaled in the batch that wrote its user (`UserImport.Journal`). A worker
/// killed mid-chunk leaves its lease to run out; the next one resumes at the recorded row, skips the rows the
/// journal shows done, and so never inserts a user twice. A worker whose time is up hands the job back at once.
public struct JobWorker: Sendable {
    public let store: any KeyValueStore
    public let logger: Logger
    /// Rows per chunk (per store batch, per progress record).
    public var chunkSize = 100
    /// How long a worker's hold on a job lasts without a renewal.
    public var lease: Duration = .seconds(60)

    public init(store: any KeyValueStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// What one run did: for the function's answer and its log line.
    public struct Report: Codable, Sendable, Equatable {
        public var jobs: [String] = []
        public var rows = 0
        public var finished = 0
    }

    public func run(until deadline: ContinuousClock.Instant) async throws -> Report {
        var report = Report()
        var after: String?
        while ContinuousClock.now < deadline {
            let queued = try await store.list(prefix: StoreKeys.jobQueue, after: after, limit: 100)
            for entry in queued {
                guard ContinuousClock.now < deadline else { break }
                let parts = entry.key.dropFirst(StoreKeys.jobQueue.count).split(separator: "/")
                guard parts.count == 2 else { continue }
                try await work(tenantId: String(parts[0]), jobId: String(parts[1]), until: deadline, &report)
            }
            guard queued.count == 100, let last = queued.last else { break }
            after = last.key
        }
        return report
    }

    // MARK: - One job

    private func work(tenantId: String, jobId: String, until deadline: ContinuousClock.Instant, _ report: inout Report) async throws {
        let queue = JobQueue(store: store, tenantId: tenantId)
        guard var (job, version) = try await queue.job(jobId) else {
            try await store.delete(StoreKeys.queuedJob(tenantId, jobId))  // purged after 24 h
            return
        }
        let now = Date.now
        guard job.isActive else {
            _ = try await queue.finish(job, over: version)  // finished, but its entry or slot outlived it
            return
        }
        if job.status == .processing, let until = job.leaseUntil, until > now { return }  // another worker has it
        guard let tenant = try await store.getJSON(Tenant.self, StoreKeys.tenant(tenantId))?.0 else { return }
        let log = TenantLog(store: store, tenant: tenant, logger: logger)
        if now.timeIntervalSince(job.createdAt) > Double(Job.timeout.components.seconds) {
            job.status = .failed
            job.statusDetails = "The job did not finish within 2 hours."
            job.finishedAt = now
            if try await queue.finish(job, over: version) { await log.record(failure(job)) }
            return
        }
        job.status = .processing
        job.startedAt = job.startedAt ?? now
        job.leaseUntil = now.addingTimeInterval(Double(lease.components.seconds))
        guard let claimed = try await queue.save(job, over: version) else { return }  // another worker was faster
        version = claimed
        report.jobs.append(job.id)

        switch job.type {
        case .usersImport:
            try await runImport(&job, version: version, tenant: tenant, queue: queue, log: log, until: deadline, &report)
        case .usersExport:
            try await runExport(&job, version: version, tenant: tenant, queue: queue, until: deadline, &report)
        }
    }

    private func runImport(
        _ job: inout Job, version start: Int64, tenant: Tenant, queue: JobQueue, log: TenantLog, until deadline: ContinuousClock.Instant,
        _ report: inout Report
    ) async throws {
        var version = start
        func fail(_ why: String) async throws {
            job.status = .failed
            job.statusDetails = why
            job.finishedAt = .now
            job.leaseUntil = nil
            if try await queue.finish(job, over: version) {
                await log.record(failure(job))
                report.finished += 1
            }
        }
        let connections = ConnectionDirectory(store: store, tenant: tenant)
        guard let id = job.connectionId, let (connection, _) = try await connections.get(id), connection.isDatabase else {
            return try await fail("The connection does not exist (any more).")
        }
        guard let file = try await queue.file(job.id) else { return try await fail("The users file is gone.") }
        // The file is at most 512,000 bytes: parsed whole. Auth0 takes a JSON array only (NDJSON is the CLI's).
        let users: [JSONValue]
        do {
            users = try JSON.decode([JSONValue].self, from: Data(file))
        } catch {
            return try await fail("The users file is not a JSON array of users.")
        }
        let importer = UserImport(
            directory: UserDirectory(store: store, tenant: tenant), connection: connection, upsert: job.upsert,
            journal: .init(prefix: StoreKeys.jobRows(tenant.id, job.id), ttl: job.remainingLife()))
        var seen = UserImport.Seen()
        for user in users.prefix(job.processed) {
            if case .valid(let parsed) = ImportedUser.parse(user) { _ = seen.claim(parsed) }
        }
        job.total = users.count
        while job.processed < users.count {
            guard ContinuousClock.now < deadline else {
                // Out of time: hand the job back so the next run takes it at once.
                job.leaseUntil = nil
                _ = try await queue.save(job, over: version)
                return
            }
            let end = min(users.count, job.processed + chunkSize)
            let rows = (job.processed..<end).map { (index: $0, value: users[$0]) }
            _ = try await importer.apply(rows, seen: &seen)
            report.rows += rows.count
            job.processed = end
            job.leaseUntil = Date.now.addingTimeInterval(Double(lease.components.seconds))
            guard let saved = try await queue.save(job, over: version) else { return }  // lost the lease: the other worker goes on
            version = saved
        }
        job.summary = try await queue.summary(job.id)
        job.status = .completed
        job.finishedAt = .now
        job.leaseUntil = nil
        if try await queue.finish(job, over: version) {
            report.finished += 1
            let summary = job.summary ?? Job.Summary()
            await log.record(
                LogEntry(
                    type: .successUsersImport, description: "Import of users completed", connection: connection.name,
                    details: [
                        "job_id": .string(job.id), "inserted": .int(Int64(summary.inserted)), "updated": .int(Int64(summary.updated)),
                        "failed": .int(Int64(summary.failed)), "total": .int(Int64(summary.total)),
                    ]))
        }
    }

    private func failure(_ job: Job) -> LogEntry {
        LogEntry(
            type: .failedUsersImport, description: job.statusDetails ?? "Import of users failed", connection: job.connection,
            details: ["job_id": .string(job.id)])
    }

    private func runExport(
        _ job: inout Job, version: Int64, tenant: Tenant, queue: JobQueue, until deadline: ContinuousClock.Instant, _ report: inout Report
    ) async throws {
        // Exports are written in one go (a tenant's users as a gzipped file): see UserExport.
        let file = try await UserExport(store: store, tenant: tenant, format: job.format == "csv" ? .csv : .json, fields: job.fields)
            .gzipped(connection: job.connection, limit: job.limit)
        job.processed = file.users
        job.status = .completed
        job.finishedAt = .now
        job.leaseUntil = nil
        try await store.put(StoreKeys.jobFile(tenant.id, job.id), Data(file.bytes), ttl: job.remainingLife())
        if try await queue.finish(job, over: version) { report.finished += 1 }
    }
}
