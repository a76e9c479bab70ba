// The jobs worker: does the bulk jobs that `jobs` recorded (imports and exports), a chunk at a time, until its
// time budget is spent. It answers no HTTP route: the local gateway invokes it on a timer (`gangway serve
// --jobs-every`), and on AWS an EventBridge schedule invokes it asynchronously (infra/template.yaml). Its event
// is ignored; its answer is a report of what it did.
//
// A worker killed mid-job leaves the job's lease to expire; the next invocation resumes at the last chunk it
// recorded and never applies a row twice (JobWorker).
//
// Settings (environment): GANGWAY_JOBS_BUDGET_SECONDS (default 50: below the function's 60 s timeout),
// GANGWAY_JOBS_CHUNK_SIZE (rows per store batch and progress record, default 100),
// GANGWAY_JOBS_LEASE_SECONDS (how long a silent worker keeps a job, default 60).
import FoundationEssentials
import GangwayAuth0

struct JobsWorkerFunction: FunctionHandler {
    let name = "jobs-worker"
    let errors = ErrorShape.management

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let environment = ProcessInfo.processInfo.environment
        func setting(_ name: String, _ fallback: Int) -> Int { environment[name].flatMap(Int.init).map { max(1, $0) } ?? fallback }
        var worker = JobWorker(store: try context.store(), logger: context.logger)
        worker.chunkSize = setting("GANGWAY_JOBS_CHUNK_SIZE", 100)
        worker.lease = .seconds(setting("GANGWAY_JOBS_LEASE_SECONDS", 60))
        let report = try await worker.run(until: .now + .seconds(setting("GANGWAY_JOBS_BUDGET_SECONDS", 50)))
        return try .json(200, report)
    }
}

await Function.run(JobsWorkerFunction())
