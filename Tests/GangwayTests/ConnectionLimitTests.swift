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
        let functionCount = try RouteTable.load(path: Bin.routes).functions.count  // one warm worker each
        for _ in 0..<50 where workers.count < functionCount {
            usleep(100_000)
            workers = ProcessProbe.children(of: pid)
        }
        #expect(workers.count == functionCount)

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
        for _ in 0..<50 where after.count < functionCount {
            usleep(100_000)
            after = ProcessProbe.children(of: pid)
        }
        #expect(after.count == functionCount && !after.contains(victim), "workers after: \(after), killed: \(victim)")
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
