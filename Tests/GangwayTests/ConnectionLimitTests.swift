import Foundation
import GangwayAuth0
import Testing

/// Clients that hold connections without finishing requests must cost the gateway bounded time and descriptors:
/// header, body and idle deadlines; a connection budget with 503s past it; no trap when descriptors run short.
@Suite("Connection limits", .serialized)
struct ConnectionLimitTests {
    static let head = "GET /.well-known/jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test("a slowloris sending its headers byte by byte is closed after --header-timeout")
    func slowHeadersAreCut() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "cgi", extra: ["--header-timeout", "1"])
        let connection = try #require(RawConnection(port: gateway.port))
        let started = ContinuousClock.now
        var closed = false
        // 40 bytes, 150 ms apart: never the blank line that ends the head.
        for byte in Array(Self.head.utf8).prefix(40) {
            guard connection.send([byte]), !connection.closedByPeer(within: .milliseconds(150)) else {
                closed = true
                break
            }
        }
        let elapsed = ContinuousClock.now - started
        #expect(closed, "still open after \(elapsed)")
        #expect(elapsed > .milliseconds(800) && elapsed < .seconds(3), "closed after \(elapsed)")
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
    }

    @Test("a body that stalls or trickles is closed after --body-timeout; the function never sees a partial body")
    func slowBodiesAreCut() throws {
        let scratch = Scratch()
        let sink = try SinkFunction(scratch)
        let gateway = try sink.gateway(["--body-timeout", "1"])
        let head = SinkFunction.head
        let filler = String(repeating: "~", count: 100)
        // Content-Length 1000, then 100 bytes and silence.
        let stalled = try #require(RawConnection(port: gateway.port))
        var started = ContinuousClock.now
        stalled.send(head + "Content-Length: 1000\r\n\r\n" + filler)
        #expect(stalled.closedByPeer(within: .seconds(5)), "the stalled upload stayed open")
        var elapsed = ContinuousClock.now - started
        #expect(elapsed > .milliseconds(800) && elapsed < .seconds(4), "closed after \(elapsed)")

        // A chunked body that stops half-way through its first chunk.
        let chunked = try #require(RawConnection(port: gateway.port))
        started = ContinuousClock.now
        chunked.send(head + "Transfer-Encoding: chunked\r\n\r\n3e8\r\n" + filler)
        #expect(chunked.closedByPeer(within: .seconds(5)), "the stalled chunked upload stayed open")
        elapsed = ContinuousClock.now - started
        #expect(elapsed > .milliseconds(800) && elapsed < .seconds(4), "closed after \(elapsed)")

        // A byte every 100 ms: each one on time, the whole body never.
        let trickle = try #require(RawConnection(port: gateway.port))
        started = ContinuousClock.now
        trickle.send(head + "Content-Length: 1000\r\n\r\n")
        var closed = false
        for _ in 0..<60 where !closed {
            closed = !trickle.send("~") || trickle.closedByPeer(within: .milliseconds(100))
        }
        elapsed = ContinuousClock.now - started
        #expect(closed && elapsed > .milliseconds(800) && elapsed < .seconds(4), "closed: \(closed) after \(elapsed)")

        #expect(sink.seen.isEmpty, "the function got partial bodies: \(sink.seen)")
        let whole = try gateway.request("POST", "/sink", body: SinkFunction.body(1000))
        #expect(whole.status == 200)
        #expect(sink.seen == [1000])
    }

    @Test("an idle keep-alive connection is closed after --idle-timeout")
    func idleKeepAliveIsClosed() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "cgi", extra: ["--idle-timeout", "1"])
        let connection = try #require(RawConnection(port: gateway.port))
        connection.send(Self.head)
        #expect(connection.readResponse() != nil)
        let started = ContinuousClock.now
        #expect(connection.closedByPeer(within: .seconds(4)), "the idle connection stayed open")
        #expect(ContinuousClock.now - started > .milliseconds(800))
    }

    @Test("connections past --max-connections get 503 JSON; a fresh connection works once they are gone")
    func connectionsPastTheCapAreShed() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "cgi", extra: ["--max-connections", "8"])
        var idle = (0..<12).compactMap { _ in RawConnection(port: gateway.port) }
        #expect(idle.count == 12)
        usleep(300_000)
        let extra = try #require(RawConnection(port: gateway.port))
        extra.send(Self.head)
        let shed = extra.readResponse(timeout: .seconds(3))
        #expect(shed?.status == 503 && shed?.text.contains("temporarily_unavailable") == true, "\(String(describing: shed))")
        #expect(shed?.headers["connection"] == "close")
        idle.removeAll()
        usleep(300_000)
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
    }

    @Test("under ulimit -n 256 a burst of idle connections is shed; the gateway keeps serving and respawns workers")
    func lowDescriptorLimitSurvivesABurst() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(
            store: scratch.store, mode: "warm", extra: ["--header-timeout", "2"], launcher: ["/usr/bin/prlimit", "--nofile=256"]
        )
        let pid = gateway.process.processIdentifier
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
        var workers = ProcessProbe.children(of: pid)
        for _ in 0..<50 where workers.count < 8 {
            usleep(100_000)
            workers = ProcessProbe.children(of: pid)
        }
        #expect(workers.count == Bin.functionCount)

        var burst = (0..<300).compactMap { _ in RawConnection(port: gateway.port, timeout: .milliseconds(300)) }
        usleep(500_000)
        let open = ProcessProbe.openDescriptors(of: pid)
        #expect(open < 250, "\(open) descriptors open under a limit of 256")
        // A worker dies while the connections are held: it is replaced, and the gateway does not trap.
        let victim = try #require(workers.first)
        kill(victim, SIGKILL)
        usleep(1_000_000)
        #expect(gateway.isRunning)
        burst.removeAll()

        var status = 0
        for _ in 0..<50 where status != 200 {
            status = (try? gateway.request("GET", "/.well-known/jwks.json", timeout: .seconds(2)).status) ?? 0
            if status != 200 { usleep(100_000) }
        }
        #expect(status == 200)
        var after = ProcessProbe.children(of: pid)
        for _ in 0..<50 where after.count < 8 {
            usleep(100_000)
            after = ProcessProbe.children(of: pid)
        }
        #expect(after.count == Bin.functionCount && !after.contains(victim), "workers after: \(after), killed: \(victim)")
        #expect(gateway.isRunning)
    }
}

/// What the HTTP parser rejects is still answered in the gateway's JSON error shape.
@Suite("Malformed HTTP")
struct MalformedHTTPTests {
    @Test("a request that is not HTTP gets a JSON 400, and the connection is closed")
    func garbageGetsJSON400() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "cgi")
        let connection = try #require(RawConnection(port: gateway.port))
        connection.send("GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n")
        let response = connection.readResponse()
        #expect(response?.status == 400 && response?.headers["content-type"] == "application/json", "\(String(describing: response))")
        #expect(response?.text.contains(#""error":"invalid_request""#) == true)
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
    }
}
