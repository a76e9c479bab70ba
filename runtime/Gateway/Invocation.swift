import GangwayPlatform

/// How a function invocation ended, from the gateway's point of view.
enum InvocationOutcome: Sendable {
    /// The function answered with these bytes (a GatewayResponse as JSON, if it kept the contract).
    case response([UInt8])
    /// The function reported an error it could not turn into a response (Runtime API `/error`).
    case functionError(String)
    /// The process died, exited non-zero or could not be started.
    case crashed(String)
    case timedOut
    /// Every worker stayed busy for the whole `queueTimeout`: the function never started.
    case noWorkerAvailable
}

/// Runs one event through one function: a process per request (cgi) or a warm worker (warm).
protocol FunctionInvoker: Sendable {
    func invoke(function: String, event: [UInt8]) async -> InvocationOutcome
    func shutdown() async
}
