import FoundationEssentials
import GangwayPlatform
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Subprocess

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// `--mode warm`: for each function, a few sandboxes as on AWS Lambda. A sandbox is one Lambda Runtime
/// API endpoint (its own loopback port) and the one worker process polling it; a worker that crashes
/// or overruns its timeout is killed and replaced, and the request it held gets 502 or 504.
actor WarmPool: FunctionInvoker {
    struct Invocation: Sendable {
        let id: String
        let function: String
        let event: [UInt8]
        /// The function's own time budget (`timeoutSeconds`); it starts when a worker takes the invocation.
        let timeout: Duration
    }

    final class Sandbox: Sendable {
        let index: Int
        let function: String
        /// The worker's proof that it is the process the gateway spawned: any local process can reach a loopback
        /// port, so without it one could take invocation events (passwords, client secrets) and forge answers.
        let credential = RuntimeAPICredential()
        init(index: Int, function: String) {
            self.index = index
            self.function = function
        }
    }

    private struct SandboxState {
        var port: Int?
        var pid: pid_t?
        /// A `GET /next` waiting for work.
        var waiting: CheckedContinuation<Invocation?, Never>?
        /// The invocation this sandbox's worker is running.
        var current: String?
        /// Whether the current worker got as far as polling (a worker that dies before is an init failure).
        var polled = false
        var crashes = 0
    }

    private let functions: FunctionDirectory
    private let workersPerFunction: Int
    private let logger: Logger
    private var sandboxes: [Int: SandboxState] = [:]
    private var sandboxFunction: [Int: String] = [:]
    private var queued: [String: [Invocation]] = [:]
    private var pending: [String: Pending] = [:]
    private struct Pending {
        var continuation: CheckedContinuation<InvocationOutcome, Never>
        var sandbox: Int?
        /// While queued: the end of the wait for a worker (`queueTimeout`, then 503, nobody killed). Once a
        /// worker holds it: the end of the function's timeout (then 504, and the worker is replaced).
        var deadline: ContinuousClock.Instant
    }
    private var stopping = false
    /// One task for every deadline (started with the first invocation) rather than a timer task per invocation:
    /// timeouts are cut within `reaperInterval` of the deadline, and a warm invocation costs no timer.
    private var reaper: Task<Void, Never>?
    static let reaperInterval = Duration.milliseconds(50)

    private let queueTimeout: Duration

    init(functions: FunctionDirectory, workersPerFunction: Int, queueTimeout: Duration, logger: Logger) {
        self.functions = functions
        self.queueTimeout = queueTimeout
        self.workersPerFunction = workersPerFunction
        self.logger = logger
    }

    /// One Runtime API application per sandbox; the gateway runs them beside its own HTTP server.
    nonisolated func runtimeServices() -> [any Service] {
        var services: [any Service] = []
        var index = 0
        for name in functions.specs.keys.sorted() {
            for _ in 0..<workersPerFunction {
                let sandbox = Sandbox(index: index, function: name)
                index += 1
                services.append(runtimeAPI(for: sandbox))
            }
        }
        return services
    }

    // MARK: Gateway side

    func invoke(function: String, event: [UInt8]) async -> InvocationOutcome {
        guard let spec = functions.spec(function) else { return .crashed("unknown function \(function)") }
        let invocation = Invocation(
            id: Random.identifier(length: 24), function: function, event: event,
            timeout: spec.timeout
        )
        let id = invocation.id
        if reaper == nil {
            reaper = Task { [weak self] in
                while (try? await Task.sleep(for: Self.reaperInterval)) != nil {
                    guard let self, await self.expireOverdue() else { return }
                }
            }
        }
        return await withCheckedContinuation { continuation in
            pending[id] = Pending(continuation: continuation, sandbox: nil, deadline: .now + queueTimeout)
            dispatch(invocation)
        }
    }

    /// Expires every invocation past its deadline; false once the pool is stopping.
    private func expireOverdue() -> Bool {
        let now = ContinuousClock.now
        for (id, entry) in pending where entry.deadline <= now { expire(id) }
        return !stopping
    }

    private func dispatch(_ invocation: Invocation) {
        if let index = sandboxes.keys.sorted().first(where: {
            sandboxFunction[$0] == invocation.function && sandboxes[$0]?.waiting != nil
        }) {
            hand(invocation, to: index)
        } else {
            queued[invocation.function, default: []].append(invocation)
        }
    }

    private func hand(_ invocation: Invocation, to index: Int) {
        let waiting = sandboxes[index]?.waiting
        sandboxes[index]?.waiting = nil
        assign(invocation, to: index)
        waiting?.resume(returning: invocation)
    }

    /// A worker takes the invocation: from now on the function's timeout runs, not the wait for a worker.
    private func assign(_ invocation: Invocation, to index: Int) {
        sandboxes[index, default: SandboxState()].current = invocation.id
        pending[invocation.id]?.sandbox = index
        pending[invocation.id]?.deadline = .now + invocation.timeout
    }

    private func finish(_ id: String, _ outcome: InvocationOutcome) {
        guard let entry = pending.removeValue(forKey: id) else { return }
        if let index = entry.sandbox, sandboxes[index]?.current == id { sandboxes[index]?.current = nil }
        queued = queued.mapValues { $0.filter { $0.id != id } }
        entry.continuation.resume(returning: outcome)
    }

    /// The deadline passed. Still queued: the caller gets 503 and nobody is killed (every worker was busy, none
    /// misbehaved). Held by a worker: the caller gets 504 and that worker is replaced.
    private func expire(_ id: String) {
        guard let entry = pending[id] else { return }
        guard entry.sandbox != nil else {
            logger.warning("no worker became free in time", metadata: ["request": "\(id)"])
            return finish(id, .noWorkerAvailable)
        }
        finish(id, .timedOut)
        if let index = entry.sandbox, let pid = sandboxes[index]?.pid {
            logger.warning("worker overran its timeout; replacing it", metadata: ["sandbox": "\(index)"])
            kill(pid, SIGKILL)
        }
    }

    // MARK: Runtime API side

    fileprivate func next(sandbox index: Int, function: String) async -> Invocation? {
        if stopping { return nil }
        sandboxes[index, default: SandboxState()].polled = true
        // A new poll means the previous invocation is over, answered or not.
        if let current = sandboxes[index]?.current {
            finish(current, .functionError("worker asked for more work without answering"))
        }
        if var queue = queued[function], !queue.isEmpty {
            let invocation = queue.removeFirst()
            queued[function] = queue
            assign(invocation, to: index)
            return invocation
        }
        return await withCheckedContinuation { continuation in
            sandboxes[index, default: SandboxState()].waiting?.resume(returning: nil)
            sandboxes[index, default: SandboxState()].waiting = continuation
        }
    }

    fileprivate func respond(sandbox index: Int, id: String, body: [UInt8]) -> Bool {
        guard pending[id]?.sandbox == index else { return false }
        finish(id, .response(body))
        return true
    }

    fileprivate func fail(sandbox index: Int, id: String, report: String) -> Bool {
        guard pending[id]?.sandbox == index else { return false }
        finish(id, .functionError(report))
        return true
    }

    // MARK: Workers

    fileprivate func listening(sandbox: Sandbox, port: Int) {
        sandboxes[sandbox.index, default: SandboxState()].port = port
        sandboxFunction[sandbox.index] = sandbox.function
        let function = sandbox.function
        let index = sandbox.index
        let credential = sandbox.credential
        Task.detached { [weak self] in
            await self?.superviseWorker(sandbox: index, function: function, port: port, credential: credential)
        }
    }

    /// Keeps one worker alive for the sandbox, restarting it when it exits (with a back-off if it keeps dying).
    private nonisolated func superviseWorker(sandbox index: Int, function: String, port: Int, credential: RuntimeAPICredential) async {
        guard let spec = functions.spec(function) else { return }
        var refusals = 0
        while await !self.stopping {
            // Out of descriptors swift-subprocess traps mid-spawn instead of throwing: check first, retry later.
            guard DescriptorLimit.roomToSpawn() else {
                refusals += 1
                logger.error(
                    "worker not started: too few free descriptors; retrying",
                    metadata: ["function": "\(function)", "open": "\(DescriptorLimit.openDescriptors())"]
                )
                try? await Task.sleep(for: .milliseconds(min(2000, 50 << min(refusals, 5))))
                continue
            }
            refusals = 0
            let started = ContinuousClock.now
            do {
                _ = try await run(
                    .path(FilePath(spec.executable)),
                    environment: functions.environment(extra: [
                        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:\(port)", "AWS_LAMBDA_FUNCTION_NAME": function,
                        RuntimeAPICredential.environmentKey: credential.value,
                    ]),
                    input: .none, output: .discarded, error: .currentStandardError
                ) { execution in
                    await self.started(sandbox: index, pid: execution.processIdentifier.value)
                }
            } catch {
                logger.error("worker could not start", metadata: ["function": "\(function)", "error": "\(error)"])
            }
            let quick = ContinuousClock.now - started < .seconds(1)
            let crashes = await workerExited(sandbox: index, quick: quick)
            if crashes > 0 { try? await Task.sleep(for: .milliseconds(min(2000, 50 << min(crashes, 5)))) }
        }
    }

    private func started(sandbox index: Int, pid: pid_t) {
        sandboxes[index, default: SandboxState()].pid = pid
        sandboxes[index]?.polled = false
    }

    /// The worker is gone: whatever it held failed, its poll is dropped. Returns the crash streak.
    private func workerExited(sandbox index: Int, quick: Bool) -> Int {
        sandboxes[index]?.pid = nil
        sandboxes[index]?.waiting?.resume(returning: nil)
        sandboxes[index]?.waiting = nil
        if let current = sandboxes[index]?.current {
            finish(current, .crashed("worker exited while handling the request"))
        } else if sandboxes[index]?.polled == false, let function = sandboxFunction[index],
            let waiting = queued[function]?.first
        {
            // As on Lambda, a worker that dies while initialising fails the invocation waiting for it.
            finish(waiting.id, .crashed("worker exited during initialisation"))
        }
        // Read before writing: an optional-chained write evaluates its right side during the access.
        let streak = quick ? (sandboxes[index]?.crashes ?? 0) + 1 : 0
        sandboxes[index]?.crashes = streak
        return stopping ? 0 : streak
    }

    func shutdown() async {
        stopping = true
        reaper?.cancel()
        for (index, state) in sandboxes {
            state.waiting?.resume(returning: nil)
            sandboxes[index]?.waiting = nil
            if let pid = state.pid { kill(pid, SIGTERM) }
        }
        for id in Array(pending.keys) { finish(id, .crashed("gateway is stopping")) }
    }

    /// The Lambda Runtime API (2018-06-01) for one sandbox, on an ephemeral loopback port.
    private nonisolated func runtimeAPI(for sandbox: Sandbox) -> any Service {
        Application(
            responder: RuntimeAPIResponder(pool: self, sandbox: sandbox),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                await self.listening(sandbox: sandbox, port: channel.localAddress?.port ?? 0)
            },
            logger: Logger(label: "runtime-api", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// Answers the four Runtime API routes a worker uses. Matched by hand rather than with a `Router`: this
    /// runs twice per warm invocation, and the routes are fixed.
    struct RuntimeAPIResponder: HTTPResponder {
        typealias Context = BasicRequestContext
        let pool: WarmPool
        let sandbox: Sandbox
        static let base = "/2018-06-01/runtime/"

        func respond(to request: Request, context: Context) async throws -> Response {
            let path = request.uri.path
            // Checked before anything else, so a stranger's poll never dequeues an event or ends an invocation.
            guard sandbox.credential.admits(request.headers[RuntimeAPICredential.header]) else {
                pool.logger.warning(
                    "runtime API request without the worker's credential refused",
                    metadata: ["sandbox": "\(sandbox.index)", "path": "\(path.prefix(100))"]
                )
                return Response(status: .forbidden)
            }
            guard path.hasPrefix(Self.base) else { return Response(status: .notFound) }
            let route = path.dropFirst(Self.base.count).split(separator: "/", omittingEmptySubsequences: false)
            switch (request.method, route.count, route.first, route.last) {
            case (.get, 2, "invocation", "next"):
                return await next()
            case (.post, 3, "invocation", "response"):
                let id = String(route[1])
                guard let body = try? await request.body.collect(upTo: GatewayLimits.maxResponseBytes) else {
                    _ = await pool.fail(sandbox: sandbox.index, id: id, report: "response larger than the limit")
                    return Response(status: .contentTooLarge)
                }
                let known = await pool.respond(sandbox: sandbox.index, id: id, body: Array(buffer: body))
                return Response(status: known ? .accepted : .notFound)
            case (.post, 3, "invocation", "error"):
                let known = await pool.fail(sandbox: sandbox.index, id: String(route[1]), report: await report(request))
                return Response(status: known ? .accepted : .notFound)
            case (.post, 2, "init", "error"):
                let report = await report(request)
                pool.logger.error("worker failed to initialise", metadata: ["function": "\(sandbox.function)", "report": "\(report)"])
                return Response(status: .accepted)
            default:
                return Response(status: .notFound)
            }
        }

        private func next() async -> Response {
            guard let invocation = await pool.next(sandbox: sandbox.index, function: sandbox.function) else {
                return Response(status: .serviceUnavailable)
            }
            // Handed over just now: the function's whole timeout is ahead of it.
            let deadline = Date.now.addingTimeInterval(Double(invocation.timeout.components.seconds))
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!] = invocation.id
            headers[HTTPField.Name("Lambda-Runtime-Deadline-Ms")!] = String(Int64(deadline.timeIntervalSince1970 * 1000))
            headers[HTTPField.Name("Lambda-Runtime-Invoked-Function-Arn")!] =
                "arn:aws:lambda:local:000000000000:function:\(invocation.function)"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: invocation.event)))
        }

        private func report(_ request: Request) async -> String {
            (try? await request.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        }
    }
}
