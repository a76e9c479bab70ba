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
    private let opened = Mutex<(any KeyValueStore)?>(nil)

    init(configuration: Configuration) { self.configuration = configuration }

    func store() throws -> any KeyValueStore {
        try opened.withLock { opened in
            if let store = opened { return store }
            let store = try Store.open(url: configuration.storeURL)
            opened = store
            return store
        }
    }
}

public typealias FunctionHandler = @Sendable (FunctionRequest, FunctionContext) async throws -> GatewayResponse

/// A Gangway function: one handler, two drivers. With `AWS_LAMBDA_RUNTIME_API` set it loops on the
/// Lambda Runtime API; otherwise it reads one event from stdin, writes one response to stdout and exits 0.
public struct Function: Sendable {
    public let name: String
    public let errorShape: ErrorShape
    public let handler: FunctionHandler
    let configuration: Configuration
    let resources: FunctionResources
    let logger: Logger

    public init(_ name: String, errors: ErrorShape, configuration: Configuration = Configuration(), handler: @escaping FunctionHandler) {
        self.name = name
        self.errorShape = errors
        self.handler = handler
        self.configuration = configuration
        self.resources = FunctionResources(configuration: configuration)
        self.logger = Log.logger(name)
    }

    /// Runs the function with the driver the environment asks for.
    public static func run(_ name: String, errors: ErrorShape, handler: @escaping FunctionHandler) async -> Never {
        let function = Function(name, errors: errors, handler: handler)
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
        let request = FunctionRequest(event: event, maxBodyBytes: configuration.maxBodyBytes)
        var logger = self.logger
        logger[metadataKey: "request_id"] = .string(request.requestId)
        let context = FunctionContext(requestId: request.requestId, logger: logger, configuration: configuration, resources: resources)
        let response: GatewayResponse
        do {
            response = try await handler(request, context)
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
