import FoundationEssentials
import GangwayPlatform
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How many client connections the gateway serves, sheds and accepts, given its descriptor limit.
///
/// Every descriptor the gateway holds comes out of one RLIMIT_NOFILE: client connections, the workers' Runtime API
/// listeners and connections, and the pipes of every process it spawns. When connections took them all, nothing
/// could be accepted or spawned and the next worker respawn trapped inside swift-subprocess. So connections get a
/// budget well below the limit: up to `admitted` are served; up to `acceptable` are answered 503 and closed; past
/// that the gateway stops accepting (the kernel's backlog holds or refuses the rest) until some close.
struct ConnectionBudget: Sendable {
    let admitted: Int
    let acceptable: Int
    /// RLIMIT_NOFILE as the gateway runs with it (after raising the soft limit to the hard one).
    let descriptorLimit: Int

    /// Descriptors kept back for the gateway itself (logs, store, listeners) and per warm sandbox (its Runtime API
    /// listener, its worker's connection, the pipes of a respawn).
    static let reserved = 64
    static let perSandbox = 8
    /// In cgi mode a request in flight also holds its function's process: an unlinked event file, a stdout pipe,
    /// the spawn's own pipes.
    static let perCGIRequest = 6

    init(limits: GatewayLimits, mode: Gateway.Mode, sandboxes: Int) {
        descriptorLimit = DescriptorLimit.raiseToHardLimit()
        let headroom = max(16, descriptorLimit - Self.reserved - Self.perSandbox * sandboxes)
        let perConnection = mode == .cgi ? 1 + Self.perCGIRequest : 1
        let served = max(4, min(limits.maxConnections, headroom * 7 / 8 / perConnection))
        admitted = served
        acceptable = max(served + 1, min(served + max(8, served / 8), headroom))
    }
}

/// The process's descriptor limit.
enum DescriptorLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard limit (as Go's runtime does) and returns it.
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, 1 << 20))
    }

    /// Whether spawning a process is safe now: swift-subprocess traps (rather than throws) when it runs out of
    /// descriptors half-way through a spawn, so the gateway checks first and retries later instead.
    static func roomToSpawn(margin: Int = 32) -> Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return true }
        return openDescriptors() + margin < Int(min(limit.rlim_cur, 1 << 20))
    }

    /// Descriptors open in this process (entries of /proc/self/fd; on other systems, assume room).
    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return max(0, count - 3)  // ".", ".." and the directory's own descriptor
    }
}

/// Counts open client connections for Hummingbird's accept gate and for the shedding decision.
final class ConnectionCount: Sendable {
    let open = Atomic<Int>(0)
}

/// Hummingbird's accept gate: stops reading the listening socket once `acceptable` connections are open.
struct AcceptGate: AvailableConnectionsDelegate {
    let count: ConnectionCount
    let acceptable: Int
    mutating func connectionOpened() { count.open.add(1, ordering: .relaxed) }
    mutating func connectionClosed() { count.open.subtract(1, ordering: .relaxed) }
    func isAcceptingNewConnections() -> Bool { count.open.load(ordering: .relaxed) < acceptable }
}

/// A client connection as the gateway serves it: Hummingbird's HTTP/1 channel with header, body and idle
/// deadlines, and a 503 for a connection past the budget instead of a descriptor the gateway cannot spare.
struct GatewayChannel: ServerChildChannel {
    struct Connection: ServerChildChannelValue {
        let http: HTTP1Channel.Value
        /// Over the budget: answered 503 and closed.
        let shed: Bool
        var channel: any Channel { http.channel }
    }

    let http1: HTTP1Channel
    let count: ConnectionCount
    let budget: ConnectionBudget
    let logger: Logger

    init(
        responder: @escaping HTTPChannelHandler.Responder, limits: GatewayLimits, budget: ConnectionBudget, count: ConnectionCount,
        logger: Logger
    ) {
        http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [RequestDeadlines(header: limits.headerTimeout, body: limits.bodyTimeout)],
                idleTimeout: .init(limits.idleTimeout)
            )
        )
        self.count = count
        self.budget = budget
        self.logger = logger
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        // The accept gate has counted this connection already.
        let shed = count.open.load(ordering: .relaxed) > budget.admitted
        return http1.setup(channel: channel, logger: logger).map { Connection(http: $0, shed: shed) }
    }

    func handle(value: Connection, logger: Logger) async {
        guard value.shed else { return await http1.handle(value: value.http, logger: logger) }
        self.logger.warning("connection limit reached; answering 503", metadata: ["open": "\(count.open.load(ordering: .relaxed))"])
        do {
            try await value.http.executeThenClose { inbound, outbound in
                // Wait for the request's head (bounded by the header deadline) so the client reads the answer.
                var parts = inbound.makeAsyncIterator()
                guard case .head = try await parts.next() else { return }
                var head = HTTPResponse(status: .serviceUnavailable)
                head.headerFields[.connection] = "close"
                head.headerFields[.retryAfter] = "1"
                head.headerFields[.contentType] = "application/json"
                head.headerFields[.contentLength] = "\(Self.shedBody.readableBytes)"
                try await outbound.write(.head(head))
                try await outbound.write(.body(Self.shedBody))
                try await outbound.write(.end(nil))
                outbound.finish()
            }
        } catch {
            logger.trace("shed connection ended: \(error)")
        }
    }

    static let shedBody = ByteBuffer(
        string: #"{"error":"temporarily_unavailable","error_description":"Too many open connections; retry later."}"#
    )
}

/// Closes a connection that takes too long to send a request: its head within `header` of the connection opening,
/// its body within `body` of the head. (Between requests, Hummingbird's idle timeout applies.) A peer that sends
/// a header byte by byte is closed at the header deadline, not kept alive by each byte.
///
/// Also ends a connection after a response that says `Connection: close` (the gateway's refusals of a body it did
/// not read whole: 413, 503): Hummingbird would otherwise keep reading, and discarding, the rest of the body until
/// the body deadline. The gateway's side is shut once the answer is out, and the connection closed `linger` later,
/// so a client still sending reads the answer instead of a reset.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let linger = TimeAmount.seconds(1)

    let header: TimeAmount
    let body: TimeAmount
    private var deadline: Scheduled<Void>?
    private var firstHeadSeen = false
    private var closeAfterResponse = false

    init(header: Duration, body: Duration) {
        self.header = .init(header)
        self.body = .init(body)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context, after: header)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            firstHeadSeen = true
            arm(context, after: body)
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    /// A connection whose first request the HTTP parser could not make sense of: answered 400 in the
    /// Authentication API's JSON error shape (Hummingbird would send an empty 400), then closed. Once a request
    /// has reached the responder, Hummingbird answers a later parse error itself (so answers never interleave).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, !firstHeadSeen else { return context.fireErrorCaught(error) }
        deadline?.cancel()
        deadline = nil
        let body = ByteBuffer(string: #"{"error":"invalid_request","error_description":"The request is not valid HTTP/1.1."}"#)
        var head = HTTPResponse(status: .badRequest)
        head.headerFields[.connection] = "close"
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = "\(body.readableBytes)"
        context.write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(body)), promise: nil)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closeAfterResponse = head.headerFields[.connection]?.lowercased() == "close"
        case .end where closeAfterResponse:
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in
                channel.close(mode: .output, promise: nil)
                channel.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
            }
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, after delay: TimeAmount) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: delay) { channel.close(promise: nil) }
    }
}
