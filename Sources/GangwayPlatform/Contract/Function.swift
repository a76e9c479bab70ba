import FoundationEssentials
import Logging
import Synchronization

/// What a handler gets besides the request: the request id, a logger, configuration and the store.
public struct FunctionContext: Sendable {
    public let requestId: String
    public let logger: Logger
    public let configuration: Configuration
    let resources: FunctionResources

    /// The process's store, opened on first use and kept for warm invocations.
    public func store() throws -> any KeyValueStore { try resources.store() }
}

/// Process-wide resources a warm worker keeps between invocations.
final class FunctionResources: Sendable {
    let configuration: Configuration
    private let opened: Mutex<(any KeyValueStore)?>

    /// `store`: one already opened (a test's); otherwise the configured store is opened on first use.
    init(configuration: Configuration, store: (any KeyValueStore)? = nil) {
        self.configuration = configuration
        self.opened = Mutex(store)
    }

    func store() throws -> any KeyValueStore {
        try opened.withLock { opened in
            if let store = opened { return store }
            let store = try Store.open(url: configuration.storeURL)
            opened = store
            return store
        }
    }
}

/// One endpoint's behaviour, apart from how events reach it: a value the drivers run and a test can call.
public protocol FunctionHandler: Sendable {
    /// The function's name in infra/routes.json; its log lines carry it.
    var name: String { get }
    /// The error body shape of its endpoint family.
    var errors: ErrorShape { get }
    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse
    /// The largest request body this endpoint takes, when it differs from the configured one (an upload).
    var maxBodyBytes: Int? { get }
}

extension FunctionHandler {
    public var maxBodyBytes: Int? { nil }
}

extension FunctionHandler {
    /// Answers one raw event in this process, against `store`, by the very path the drivers take
    /// (event size limit, decoding, error shape): endpoint rules are tested without starting a process.
    public func respond(toEventBytes event: [UInt8], store: any KeyValueStore, configuration: Configuration = Configuration()) async
        -> GatewayResponse
    {
        let handled = await Function(self, configuration: configuration, store: store).handle(eventBytes: event)
        handled.afterDelivery()
        return handled.response
    }

    /// Answers one event in this process, against `store`, by the very path the drivers take.
    public func respond(to event: GatewayEvent, store: any KeyValueStore, configuration: Configuration = Configuration()) async throws
        -> GatewayResponse
    {
        await respond(toEventBytes: Array(try JSON.encode(event)), store: store, configuration: configuration)
    }
}

/// A Gangway function: one handler, two drivers. With `AWS_LAMBDA_RUNTIME_API` set it loops on the
/// Lambda Runtime API; otherwise it reads one event from stdin, writes one response to stdout and exits 0.
public struct Function: Sendable {
    public let handler: any FunctionHandler
    let configuration: Configuration
    let resources: FunctionResources
    let logger: Logger

    public var name: String { handler.name }
    public var errorShape: ErrorShape { handler.errors }

    init(_ handler: any FunctionHandler, configuration: Configuration = Configuration(), store: (any KeyValueStore)? = nil) {
        self.handler = handler
        self.configuration = configuration
        self.resources = FunctionResources(configuration: configuration, store: store)
        self.logger = Log.logger(handler.name)
    }

    /// Runs the function with the driver the environment asks for.
    public static func run(_ handler: some FunctionHandler) async -> Never {
        let function = Function(handler)
        if let api = function.configuration.runtimeAPI {
            await RuntimeAPIDriver(api: api, function: function).run()
        } else {
            await StdioDriver(function: function).run()
        }
    }

    /// A response, and the log line to write once it has been delivered (the caller need not wait for it).
    struct Handled {
        let response: GatewayResponse
        let afterDelivery: () -> Void

        init(_ response: GatewayResponse, afterDelivery: @escaping () -> Void = {}) {
            self.response = response
            self.afterDelivery = afterDelivery
        }
    }

    /// Turns one raw event into one response. Never throws: every failure becomes a well-formed error answer.
    func handle(eventBytes: [UInt8], requestId fallbackId: String? = nil) async -> Handled {
        let started = ContinuousClock.now
        if eventBytes.count > configuration.maxEventBytes {
            return Handled(errorShape.response(for: HTTPError(413, "request_too_large", "Request is too large.")))
        }
        let event: GatewayEvent
        do {
            event = try JSON.decode(GatewayEvent.self, from: Data(eventBytes))
        } catch {
            logger.warning("malformed event", metadata: ["request_id": .string(fallbackId ?? "-")])
            return Handled(errorShape.response(for: .badRequest("Malformed request event.")))
        }
        let request = FunctionRequest(event: event, maxBodyBytes: handler.maxBodyBytes ?? configuration.maxBodyBytes)
        var logger = self.logger
        logger[metadataKey: "request_id"] = .string(request.requestId)
        let context = FunctionContext(requestId: request.requestId, logger: logger, configuration: configuration, resources: resources)
        let response: GatewayResponse
        do {
            response = try await handler.handle(request, context)
        } catch let error as any HTTPAnswerable where error.httpError != nil {
            response = errorShape.response(for: error.httpError!)
        } catch {
            // Our fault: the caller gets the request id, the log gets the cause (never the request's secrets).
            logger.error("handler failed", metadata: ["error": .string(String(describing: error))])
            response = errorShape.response(
                for: HTTPError(500, "server_error", "Internal error; request id \(request.requestId).")
            )
        }
        let elapsed = ContinuousClock.now - started
        return Handled(response) {
            logger.info(
                "handled",
                metadata: [
                    "route": .string(request.routeKey), "status": .stringConvertible(response.statusCode),
                    "ms": .string(Self.milliseconds(elapsed)),
                ]
            )
        }
    }

    static func milliseconds(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        return String(Double(Int(ms * 1000)) / 1000)
    }
}
