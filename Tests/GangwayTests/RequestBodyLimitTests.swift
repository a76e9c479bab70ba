import Foundation
import GangwayAuth0
import Testing

/// Bodies past the gateway's limit are refused before they are read, so a burst of them costs no memory.
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
        let done = DispatchGroup()
        let port = gateway.port
        for _ in 0..<20 {
            done.enter()
            Thread {
                defer { done.leave() }
                guard let connection = RawConnection(port: port) else { return }
                connection.send(
                    "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                        + "Content-Length: \(body.count)\r\n\r\n")
                let response = connection.readResponse(timeout: .seconds(10))
                statuses.withLock { $0.append(response?.status ?? 0) }
                if response?.text.contains("request_too_large") != true { statuses.withLock { $0.append(-1) } }
                _ = connection.send(body)
            }.start()
        }
        done.wait()
        let peak = ProcessProbe.memory("VmHWM", of: pid)
        #expect(statuses.withLock { $0 } == Array(repeating: 413, count: 20))
        #expect(peak - before < 48 << 20, "peak RSS grew by \((peak - before) >> 20) MiB (from \(before >> 20) MiB)")
        #expect(try gateway.request("GET", "/.well-known/jwks.json").status == 200)
    }
}
