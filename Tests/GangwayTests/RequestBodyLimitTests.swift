import Foundation
import GangwayAuth0
import Testing

/// Bodies past the gateway's limit are refused before they are read, so a burst of them costs no memory; bodies under
/// it are buffered within one budget across all connections, and the memory comes back after a burst.
@Suite("Request body limit", .serialized)
struct RequestBodyLimitTests {
    @Test("a burst of uploads over the limit is refused by Content-Length with 413 JSON; the gateway's memory stays flat")
    func oversizedUploadsAreRefusedUnread() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "cgi")
        let pid = gateway.process.processIdentifier
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
        let before = ProcessProbe.memory("VmRSS", of: pid)

        // 20 clients at once, each sending 7 MiB (over the 6 MiB limit).
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: 7 << 20)
        let statuses = Locked<[Int]>([])
        let port = gateway.port
        Self.clients(20) { _ in
            guard let connection = RawConnection(port: port) else { return }
            connection.send(
                "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    + "Content-Length: \(body.count)\r\n\r\n")
            let response = connection.readResponse(timeout: .seconds(10))
            statuses.withLock { $0.append(response?.status ?? 0) }
            if response?.text.contains("request_too_large") != true { statuses.withLock { $0.append(-1) } }
            _ = connection.send(body)
        }
        let peak = ProcessProbe.memory("VmHWM", of: pid)
        #expect(statuses.withLock { $0 } == Array(repeating: 413, count: 20))
        #expect(peak - before < 48 << 20, "peak RSS grew by \((peak - before) >> 20) MiB (from \(before >> 20) MiB)")
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
    }

    @Test("a chunked body is cut at --max-request-bytes: 413 JSON, the connection ends, the function never runs")
    func chunkedBodyStopsAtTheLimit() throws {
        let scratch = Scratch()
        let sink = try SinkFunction(scratch)
        let gateway = try sink.gateway(["--max-request-bytes", "1048576"])
        let connection = try #require(RawConnection(port: gateway.port))
        connection.send(SinkFunction.head + "Transfer-Encoding: chunked\r\n\r\n")
        // Up to 4 MiB in 64 KiB chunks, stopping once the gateway answers (or stops taking bytes).
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 16) + Array("\r\n".utf8)
        for _ in 0..<64 where !connection.readable(within: .zero) {
            guard connection.send(chunk) else { break }
        }
        let response = connection.readResponse(timeout: .seconds(10))
        #expect(response?.status == 413 && response?.text.contains("request_too_large") == true, "\(String(describing: response))")
        #expect(response?.headers["connection"] == "close")
        // The gateway stops reading: the connection ends well before the 30 s body timeout would end it.
        let started = ContinuousClock.now
        var closed = false
        for _ in 0..<100 where !closed {
            closed = !connection.send(chunk) || connection.closedByPeer(within: .milliseconds(50))
        }
        #expect(closed && ContinuousClock.now - started < .seconds(10), "still open after \(ContinuousClock.now - started)")
        #expect(sink.seen.isEmpty, "the function got \(sink.seen)")
        #expect(try gateway.request("POST", "/sink", body: SinkFunction.body(3)).status == 200)
        #expect(sink.seen == [3])
    }

    @Test("a body that finds no room in the body budget within --queue-timeout gets 503 JSON and is never read")
    func bodiesPastTheBudgetWaitThen503() throws {
        let scratch = Scratch()
        let sink = try SinkFunction(scratch, delay: 3)
        let gateway = try sink.gateway(["--max-request-bytes", "1048576", "--max-buffered-body-bytes", "1048576", "--queue-timeout", "1"])
        let body = SinkFunction.body(1 << 20)
        let head = SinkFunction.head
        // The first upload takes the whole budget until its function answers, 3 s later.
        let first = try #require(RawConnection(port: gateway.port))
        first.send(head + "Content-Length: \(body.count)\r\n\r\n")
        first.send(body)
        for _ in 0..<50 where sink.seen.isEmpty { usleep(100_000) }
        #expect(sink.seen == [1 << 20])
        // Two more, one with Content-Length, one chunked: each waits its second in line, then gets 503.
        let started = ContinuousClock.now
        let declared = try #require(RawConnection(port: gateway.port))
        declared.send(head + "Content-Length: \(body.count)\r\n\r\n")
        declared.send(body)
        let chunked = try #require(RawConnection(port: gateway.port))
        chunked.send(head + "Transfer-Encoding: chunked\r\n\r\n\(String(body.count, radix: 16))\r\n")
        chunked.send(body)
        chunked.send("\r\n0\r\n\r\n")
        for connection in [declared, chunked] {
            let response = connection.readResponse(timeout: .seconds(10))
            #expect(
                response?.status == 503 && response?.text.contains("temporarily_unavailable") == true, "\(String(describing: response))")
            #expect(response?.headers["retry-after"] == "1" && response?.headers["connection"] == "close")
            #expect(connection.closedByPeer(within: .seconds(5)))
        }
        let waited = ContinuousClock.now - started
        #expect(waited > .milliseconds(800) && waited < .seconds(3), "answered after \(waited)")
        #expect(first.readResponse(timeout: .seconds(10))?.status == 200)
        // The budget is whole again.
        #expect(try gateway.request("POST", "/sink", body: body).status == 200)
        #expect(sink.seen == [1 << 20, 1 << 20])
    }

    /// 50 clients upload ~5 MiB each at once (half with Content-Length, half chunked), all under the 6 MiB limit.
    /// Without a budget every body (and its event, several copies of it) was held at once: 1 GB, 420 MB left behind.
    @Test("a burst of 50 concurrent 5 MiB uploads stays within the body budget; memory returns after it")
    func burstOfUploadsStaysWithinTheBudget() throws {
        let scratch = Scratch()
        let sink = try SinkFunction(scratch)
        let gateway = try sink.gateway()
        let pid = gateway.process.processIdentifier
        #expect(try gateway.request("POST", "/sink", body: SinkFunction.body(3)).status == 200)
        let baseline = ProcessProbe.memory("VmRSS", of: pid)

        let size = 5 << 20
        let body = SinkFunction.body(size)
        let chunk = 1 << 16
        let statuses = Locked<[Int]>([])
        let port = gateway.port
        Self.clients(50) { client in
            guard let connection = RawConnection(port: port, timeout: .seconds(30)) else {
                return statuses.withLock { $0.append(0) }
            }
            let head = SinkFunction.head + "Content-Type: application/octet-stream\r\n"
            if client % 2 == 0 {
                connection.send(head + "Content-Length: \(size)\r\n\r\n")
                connection.send(body)
            } else {
                connection.send(head + "Transfer-Encoding: chunked\r\n\r\n")
                for start in stride(from: 0, to: size, by: chunk) {
                    guard
                        connection.send(
                            Array((String(chunk, radix: 16) + "\r\n").utf8) + body[start..<(start + chunk)] + Array("\r\n".utf8))
                    else { break }
                }
                connection.send("0\r\n\r\n")
            }
            let response = connection.readResponse(timeout: .seconds(60))
            statuses.withLock { $0.append(response?.status ?? 0) }
        }
        let peak = ProcessProbe.memory("VmHWM", of: pid)
        // The memory comes back: allow the gateway a moment to finish its last requests.
        var after = ProcessProbe.memory("VmRSS", of: pid)
        for _ in 0..<30 where after - baseline >= 48 << 20 {
            usleep(100_000)
            after = ProcessProbe.memory("VmRSS", of: pid)
        }
        let figures = "baseline \(baseline >> 20) MiB, peak \(peak >> 20) MiB, after \(after >> 20) MiB"
        print("body burst: \(figures)")
        let answered = statuses.withLock { $0 }
        // Each upload is either served whole or refused 503 when no room came in time; nothing else.
        #expect(answered.count == 50 && answered.allSatisfy { $0 == 200 || $0 == 503 }, "\(answered.sorted())")
        #expect(answered.filter { $0 == 200 }.count >= 25, "\(answered.sorted())")
        #expect(
            sink.seen.dropFirst().allSatisfy { $0 == size },
            "partial bodies reached the function: \(sink.seen.dropFirst().filter { $0 != size })")
        #expect(sink.seen.count == 1 + answered.filter { $0 == 200 }.count, "the warm-up request and every 200")
        #expect(peak - baseline < 256 << 20, "\(figures)")
        #expect(after - baseline < 48 << 20, "\(figures)")
        #expect(try gateway.request("POST", "/sink", body: SinkFunction.body(3)).status == 200)
    }
}

extension RequestBodyLimitTests {
    /// Runs `count` clients at once, each on its own thread, and waits for them all.
    static func clients(_ count: Int, _ client: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            Thread {
                defer { done.leave() }
                client(index)
            }.start()
        }
        done.wait()
    }
}

/// A function for the gateway's own tests (cgi mode): a shell script that appends to `seen` how many `~` its event
/// holds (one line per invocation; the tests' bodies are made of `~`, which no other part of their events contains)
/// and answers 200, `delay` seconds later. A shell and `tr`, not Python: fifty 5 MiB events must not take the test's time.
struct SinkFunction {
    let routes: String
    let functions: String
    let seenPath: String
    let store: String

    /// A request to it, up to its body's framing.
    static let head = "POST /sink HTTP/1.1\r\nHost: 127.0.0.1\r\n"

    init(_ scratch: Scratch, delay: Int = 0) throws {
        store = scratch.store
        functions = scratch.path + "/functions"
        seenPath = scratch.path + "/seen"
        routes = scratch.path + "/routes.json"
        try FileManager.default.createDirectory(atPath: functions, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            tr -cd '~' | wc -c >> '\(seenPath)'
            sleep \(delay)
            printf '%s' '{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{}","isBase64Encoded":false}'
            """
        try script.write(toFile: functions + "/sink", atomically: true, encoding: .utf8)
        chmod(functions + "/sink", 0o755)
        let table = """
            {"functions": {"sink": {"timeoutSeconds": 30, "memoryMB": 128}},
             "routes": [{"method": "POST", "path": "/sink", "function": "sink"}]}
            """
        try table.write(toFile: routes, atomically: true, encoding: .utf8)
    }

    /// A cgi-mode gateway in front of it, with these `gangway serve` options.
    func gateway(_ extra: [String] = []) throws -> GatewayProcess {
        try GatewayProcess(store: store, mode: "cgi", routes: routes, functionsDir: functions, extra: extra)
    }

    /// The bodies' lengths (their `~`s) the function got, in order.
    var seen: [Int] {
        ((try? String(contentsOfFile: seenPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// A body the function counts whole: `count` times `~`.
    static func body(_ count: Int) -> [UInt8] { [UInt8](repeating: UInt8(ascii: "~"), count: count) }
}
