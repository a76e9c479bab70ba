/// How much the gateway takes on, and for how long, before it refuses: one policy, set by `gangway serve` options.
///
/// Every bound exists because something without it took the gateway down: connections that never finish their
/// headers, idle keep-alive connections eating descriptors until the next worker spawn failed, bodies that inflated
/// memory, and requests that waited for a busy worker being charged for the wait as if the function had overrun.
public struct GatewayLimits: Sendable, Equatable {
    /// Open client connections at most; past it new connections are answered 503 and closed. Also held well
    /// below the descriptor limit (RLIMIT_NOFILE), which workers and their Runtime API need too.
    public var maxConnections = 512
    /// From accepting a connection to having a request's whole head: a slowloris is closed after this.
    public var headerTimeout = Duration.seconds(10)
    /// From a request's head to the end of its body.
    public var bodyTimeout = Duration.seconds(30)
    /// A keep-alive connection with no request in progress is closed after this.
    public var idleTimeout = Duration.seconds(60)
    /// How long a request may wait for a free warm worker before it is answered 503. The function's own
    /// `timeoutSeconds` starts only when a worker takes the request.
    public var queueTimeout = Duration.seconds(10)
    /// The largest request body (API Gateway + Lambda's synchronous payload limit); larger ones get 413, by
    /// `Content-Length` before any of the body is read.
    public var maxRequestBytes = 6 * 1024 * 1024
    /// The bytes of request bodies held at once across all connections (BodyBudget); nil: four times
    /// `maxRequestBytes`. A request waits for room (up to `bodyBudgetPatience`), then gets 503.
    public var bodyBudgetBytes: Int?

    /// The budget in force: never below `maxRequestBytes`, so any request under the limit can be served.
    var effectiveBodyBudget: Int { max(maxRequestBytes, bodyBudgetBytes ?? 4 * maxRequestBytes) }
    /// How long a request waits for room in the body budget: the queue timeout, but at most half the body timeout
    /// (which runs meanwhile), so a request that had to wait still has time to send its body.
    var bodyBudgetPatience: Duration { min(queueTimeout, bodyTimeout / 2) }

    /// The largest function response the gateway accepts (Lambda's synchronous payload limit).
    static let maxResponseBytes = 6 * 1024 * 1024

    public init() {}
}
