import FoundationEssentials
import GangwayPlatform
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// The local runtime shim: plays API Gateway (HTTP API) in front of the function executables.
/// Each request becomes a payload-2.0 event, is routed by infra/routes.json, and the function's
/// response becomes the HTTP answer. Crashes, hangs and garbage become 502/504 JSON; the gateway keeps serving.
public struct Gateway: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case cgi, warm }

    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 3000
        public var mode = Mode.warm
        public var workersPerFunction = 2
        public var limits = GatewayLimits()
        public var routesPath: String
        public var binDirectory: String
        /// How often scheduled functions run (nil: each at its route table's `scheduleSeconds`).
        public var scheduleEvery: Duration?
        /// The environment every function process gets (GANGWAY_STORE and friends).
        public var environment: [String: String]

        public init(routesPath: String, binDirectory: String, environment: [String: String]) {
            self.routesPath = routesPath
            self.binDirectory = binDirectory
            self.environment = environment
        }
    }

    let options: Options
    let routes: RouteTable
    let invoker: any FunctionInvoker
    let logger: Logger
    let extraServices: [any Service]

    /// Runs every task of this process on NIO's event loops instead of Swift's cooperative pool, so a request
    /// no longer hops between an event-loop thread and a pool thread at each `await` (each hop a futex
    /// wake-up): ~13% more warm refresh grants per second (bench/token_refresh.sh). Once per process, before
    /// any gateway starts (`gangway serve` calls it first thing). NIO finds the hook with `dlsym`, so it works
    /// only with a shared Swift runtime: `gangway` is linked dynamically, the functions statically (Package.swift).
    /// Returns whether the hook was installed.
    @discardableResult
    public static func adoptEventLoopsAsGlobalExecutor() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    public init(options: Options) throws {
        self.options = options
        self.routes = try RouteTable.load(path: options.routesPath)
        let functions = try FunctionDirectory(routes: routes, binDirectory: options.binDirectory, environment: options.environment)
        self.logger = Log.logger("gateway")
        switch options.mode {
        case .cgi:
            invoker = CGIInvoker(functions: functions)
            extraServices = []
        case .warm:
            let pool = WarmPool(
                functions: functions, workersPerFunction: options.workersPerFunction, queueTimeout: options.limits.queueTimeout,
                logger: logger
            )
            invoker = pool
            extraServices = pool.runtimeServices()
        }
    }

    /// Serves until SIGINT/SIGTERM. `onListening` receives the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        // A function that exits before reading its stdin must not take the gateway down with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let bodies = BodyBudget(capacity: options.limits.effectiveBodyBudget)
        let responder = GatewayResponder(routes: routes, invoker: invoker, limits: options.limits, bodies: bodies, logger: logger)
        let sandboxes = options.mode == .warm ? routes.functions.count * options.workersPerFunction : 0
        let budget = ConnectionBudget(limits: options.limits, mode: options.mode, sandboxes: sandboxes)
        let count = ConnectionCount()
        logger.info(
            "connection budget",
            metadata: [
                "served": "\(budget.admitted)", "shed_503_up_to": "\(budget.acceptable)", "descriptor_limit": "\(budget.descriptorLimit)",
                "body_bytes_held_at_most": "\(bodies.capacity)",
            ]
        )
        let (limits, logger) = (options.limits, logger)
        let app = Application(
            responder: responder,
            server: HTTPServerBuilder { responder in
                GatewayChannel(responder: responder, limits: limits, budget: budget, count: count, logger: logger)
            },
            configuration: .init(
                address: .hostname(options.host, port: options.port), serverName: nil,
                availableConnectionsDelegate: AcceptGate(count: count, acceptable: budget.acceptable)
            ),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "hummingbird", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        // A service group shuts down in reverse order: first the public server (finishing requests in
        // flight), then the invoker (releasing the workers' long polls and stopping them), then the
        // Runtime API listeners, which by then have nothing left to wait for.
        var schedules: [String: Duration] = [:]
        for (name, spec) in routes.functions {
            if let every = spec.scheduleSeconds { schedules[name] = options.scheduleEvery ?? .seconds(every) }
        }
        let scheduler = Scheduler(invoker: invoker, schedules: schedules, logger: logger)
        let services: [any Service] = extraServices + [InvokerService(invoker: invoker), scheduler, app]
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "services", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        )
        try await group.run()
    }
}

/// Stops the invoker when the gateway shuts down.
struct InvokerService: Service {
    let invoker: any FunctionInvoker
    func run() async throws {
        try? await gracefulShutdown()
        await invoker.shutdown()
    }
}

/// The gateway's request context: Hummingbird's core storage plus the caller's address (for `sourceIp`).
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "127.0.0.1"
    }
}

struct GatewayResponder: HTTPResponder {
    typealias Context = GatewayContext
    let routes: RouteTable
    let invoker: any FunctionInvoker
    let limits: GatewayLimits
    let bodies: BodyBudget
    let logger: Logger

    func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let requestId = Random.identifier(length: 20)
        let path = request.uri.path
        // Errors the gateway itself answers use the endpoint family's shape.
        let shape: ErrorShape = path.hasPrefix("/api/v2/") ? .management : .oauth
        func fail(_ status: Int, _ code: String, _ message: String) -> Response {
            EventTranslation.httpResponse(shape.response(for: HTTPError(status, code, message)), requestId: requestId)
        }
        /// A refusal before the body was read whole: the connection closes after the answer (RequestDeadlines),
        /// so the rest of the body is never read.
        func refuse(_ status: Int, _ code: String, _ message: String) -> Response {
            var response = fail(status, code, message)
            response.headers[.connection] = "close"
            if status == 503 { response.headers[.retryAfter] = "1" }
            return response
        }

        let match: RouteTable.Match
        switch routes.match(method: request.method.rawValue, path: path) {
        case .matched(let m): match = m
        case .notFound: return fail(404, "not_found", "No route for \(request.method.rawValue) \(path).")
        case .methodNotAllowed(let allowed):
            // RFC 9110 §15.5.6: a 405 names the methods the path does answer.
            var response = fail(405, "method_not_allowed", "Method \(request.method.rawValue) is not allowed on \(path).")
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        case .badPath: return fail(400, "invalid_request", "The path has an invalid percent escape.")
        }
        // The body's bytes stay taken from the budget until the answer is ready: the event holds a copy meanwhile.
        var held = 0
        defer { bodies.release(held) }
        let eventBytes: [UInt8]
        switch await event(for: request, match: match, context: context, requestId: requestId, held: &held) {
        case .event(let bytes): eventBytes = bytes
        case .tooLarge: return refuse(413, "request_too_large", "Request is too large.")
        case .noRoom:
            logger.warning("body budget spent; answering 503", metadata: ["held": "\(bodies.held)", "request_id": "\(requestId)"])
            return refuse(503, "temporarily_unavailable", "Too many request bodies in flight; retry later. Request id \(requestId).")
        case .incomplete: return refuse(400, "invalid_request", "The request body ended early.")
        case .unencodable: return fail(400, "invalid_request", "Request could not be encoded.")
        }

        let started = ContinuousClock.now
        let outcome = await invoker.invoke(function: match.route.function, event: eventBytes)
        let elapsed = ContinuousClock.now - started
        let timing = "fn;dur=" + Self.milliseconds(elapsed)

        var response: Response
        switch outcome {
        case .response(let bytes):
            if let decoded = try? JSON.decode(GatewayResponse.self, from: Data(bytes)) {
                response = EventTranslation.httpResponse(decoded, requestId: requestId)
            } else {
                logger.error(
                    "function returned an invalid response",
                    metadata: ["function": "\(match.route.function)", "request_id": "\(requestId)"])
                response = fail(502, "bad_gateway", "The function returned an invalid response; request id \(requestId).")
            }
        case .functionError(let report):
            logger.error(
                "function reported an error",
                metadata: ["function": "\(match.route.function)", "request_id": "\(requestId)", "report": "\(report.prefix(500))"])
            response = fail(502, "bad_gateway", "The function failed; request id \(requestId).")
        case .crashed(let reason):
            logger.error(
                "function crashed", metadata: ["function": "\(match.route.function)", "request_id": "\(requestId)", "reason": "\(reason)"])
            response = fail(502, "bad_gateway", "The function crashed; request id \(requestId).")
        case .timedOut:
            logger.error("function timed out", metadata: ["function": "\(match.route.function)", "request_id": "\(requestId)"])
            response = fail(504, "gateway_timeout", "The function did not answer in time; request id \(requestId).")
        case .noWorkerAvailable:
            response = fail(503, "temporarily_unavailable", "Every worker stayed busy; retry later. Request id \(requestId).")
            response.headers[.retryAfter] = "1"
        }
        response.headers[HTTPField.Name("Server-Timing")!] = timing
        return response
    }

    enum PreparedEvent {
        case event([UInt8])
        /// Over `maxRequestBytes`, by `Content-Length` (before a byte is read) or as a chunked body arrives.
        case tooLarge
        /// No room in the body budget came within its patience.
        case noRoom
        /// The connection ended (or its body deadline passed) before the whole body came.
        case incomplete
        case unencodable
    }

    /// The request as the event its function gets. Its body is read within the per-request limit, its bytes taken
    /// from the body budget first (`held`: what the request holds afterwards, whatever happened). The body and its
    /// copies live only in this call, so they are freed before the function runs.
    func event(for request: Request, match: RouteTable.Match, context: GatewayContext, requestId: String, held: inout Int) async
        -> PreparedEvent
    {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limits.maxRequestBytes { return .tooLarge }
        // One reservation per request, before a byte is read, never grown: a request holding part of the budget
        // never waits for more, so requests cannot hold one another up. A chunked body takes the whole limit and
        // gives back what it did not use; a request with neither header has no body.
        let chunked = declared == nil && request.headers[.transferEncoding] != nil
        let wanted = declared ?? (chunked ? limits.maxRequestBytes : 0)
        guard await bodies.reserve(wanted, patience: limits.bodyBudgetPatience) else { return .noRoom }
        held = wanted
        var body = ByteBuffer()
        body.reserveCapacity(declared ?? 0)
        do {
            for try await fragment in request.body {
                // Never past the reservation: the declared length (the parser holds a body to it) or the limit.
                guard body.readableBytes + fragment.readableBytes <= held else { return .tooLarge }
                body.writeImmutableBuffer(fragment)
            }
        } catch {
            return .incomplete
        }
        if let declared, body.readableBytes != declared { return .incomplete }
        bodies.release(held - body.readableBytes)
        held = body.readableBytes
        let event = EventTranslation.event(from: request, body: body, match: match, sourceIp: context.remoteAddress, requestId: requestId)
        guard let encoded = try? JSON.encode(event) else { return .unencodable }
        return .event(Array(encoded))
    }

    static func milliseconds(_ d: Duration) -> String {
        let micros = d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
        return "\(micros / 1000).\(String(1000 + micros % 1000).dropFirst())"
    }
}
