import Foundation
import GangwayAuth0
import Testing

/// The warm workers' Runtime API ports are on loopback, where any local process can reach them. Only the worker
/// the gateway spawned may take an event or answer one.
@Suite("Runtime API credential", .serialized)
struct RuntimeAPICredentialTests {
    /// What a foreign process saw on one Runtime API port.
    struct Intrusion: Sendable {
        var port: Int
        var pollStatus: Int?
        var stoleEvent = false
        var forgedStatus: Int?
    }

    /// Polls `/next` on `port` as a stranger until `deadline` or a 403; answers any event it gets with a forged 200.
    static func intrude(port: Int, until deadline: ContinuousClock.Instant) -> Intrusion {
        var seen = Intrusion(port: port)
        while ContinuousClock.now < deadline {
            guard let connection = RawConnection(port: port) else { break }
            connection.send("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            guard let response = connection.readResponse(timeout: deadline - .now) else { break }
            seen.pollStatus = response.status
            if response.status == 403 { break }
            // Another poller took this one's place (a 503): a persistent stranger simply polls again.
            guard response.status == 200, let id = response.headers["lambda-runtime-aws-request-id"] else { continue }
            seen.stoleEvent = true
            let forged =
                #"{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"forged\":true}","isBase64Encoded":false}"#
            connection.send(
                "POST /2018-06-01/runtime/invocation/\(id)/response HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Length: \(forged.utf8.count)\r\n\r\n\(forged)")
            seen.forgedStatus = connection.readResponse()?.status
        }
        return seen
    }

    @Test("a local process without the worker's credential gets 403, no event, and its forged answers reach nobody")
    func foreignPollerIsRefused() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "warm")
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
        // One Runtime API port per function (8 in routes.json); the last may bind just after the gateway reports.
        var found: [Int] = []
        let functionCount = try RouteTable.load(path: Bin.routes).functions.count
        for _ in 0..<50 where found.count < functionCount {
            found = ProcessProbe.listeningPorts(of: gateway.process.processIdentifier).filter { $0 != gateway.port }
            usleep(100_000)
        }
        let ports = found
        #expect(ports.count == functionCount, "one Runtime API port per function")

        // A thread per port (blocking sockets: the cooperative pool would run only a core's worth at a time).
        let deadline = ContinuousClock.now + .seconds(3)
        let seenBox = Locked<[Intrusion]>([])
        let done = DispatchGroup()
        for port in ports {
            done.enter()
            Thread {
                let seen = Self.intrude(port: port, until: deadline)
                seenBox.withLock { $0.append(seen) }
                done.leave()
            }.start()
        }
        // Clients keep calling while the stranger polls every port.
        usleep(300_000)
        var answers: [(Int, String)] = []
        for _ in 0..<6 {
            let response = try gateway.request("GET", "/.well-known/jwks.json")
            answers.append((response.status, String(decoding: response.body, as: UTF8.self)))
        }
        done.wait()
        let seen = seenBox.withLock { $0 }

        #expect(seen.allSatisfy { $0.pollStatus == 403 }, "\(seen)")
        #expect(!seen.contains { $0.stoleEvent }, "a stranger received an invocation event")
        for (status, body) in answers {
            #expect(status == 200 && body.contains("\"keys\"") && !body.contains("forged"), "\(status) \(body.prefix(200))")
        }

        // An answer posted for an invocation without the credential is refused, too.
        for port in ports.prefix(2) {
            let connection = try #require(RawConnection(port: port))
            connection.send("POST /2018-06-01/runtime/invocation/someid/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            #expect(connection.readResponse()?.status == 403)
        }
        #expect(gateway.logs.contains("without the worker's credential refused"))
    }
}

/// A value shared between test threads.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
