import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

#if canImport(Glibc)
    import Glibc
#endif

/// The Runtime API client against a scripted loopback peer: the gateway always sends Content-Length, but
/// Lambda's own Runtime API may answer with a chunked body, so both framings are read on one connection.
@Suite("RuntimeAPIConnection")
struct RuntimeAPIConnectionTests {
    /// A one-connection HTTP peer: for each request it reads, it writes the next canned answer verbatim.
    final class ScriptedPeer: @unchecked Sendable {
        let port: Int
        private let listener: Int32

        init(answers: [String]) throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
            _ = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
            }
            listen(listener, 1)
            port = Int(UInt16(bigEndian: addr.sin_port))
            Thread {
                let fd = accept(listener, nil, nil)
                var pending = [UInt8]()
                var chunk = [UInt8](repeating: 0, count: 4096)
                for answer in answers {
                    // A request here has no body: it ends at the blank line.
                    while !String(decoding: pending, as: UTF8.self).contains("\r\n\r\n") {
                        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                        if n <= 0 {
                            close(fd)
                            return
                        }
                        pending += chunk[..<n]
                    }
                    let text = String(decoding: pending, as: UTF8.self)
                    pending = Array(text[text.range(of: "\r\n\r\n")!.upperBound...].utf8)
                    _ = Array(answer.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                }
                close(fd)
            }.start()
        }

        deinit { close(listener) }
    }

    @Test("Content-Length and chunked bodies (chunk extensions included) are read whole on one keep-alive connection")
    func framings() throws {
        let peer = try ScriptedPeer(answers: [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nLambda-Runtime-Aws-Request-Id: r1\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Aws-Request-Id:  r2 \r\n\r\n"
                + "6\r\n{\"a\":1\r\nA;name=value\r\n,\"b\":\"xyz\"\r\n1\r\n}\r\n0\r\n\r\n",
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ])
        let connection = try RuntimeAPIConnection(endpoint: "127.0.0.1:\(peer.port)", maxResponseBytes: 1 << 20)
        let first = try connection.send(method: "GET", path: "/2018-06-01/runtime/invocation/next", timeout: .seconds(5))
        #expect(first.status == 200 && first.body == Array("hello".utf8))
        #expect(first.headers["lambda-runtime-aws-request-id"] == "r1")
        let second = try connection.send(method: "GET", path: "/2018-06-01/runtime/invocation/next", timeout: .seconds(5))
        #expect(second.status == 200 && String(decoding: second.body, as: UTF8.self) == #"{"a":1,"b":"xyz"}"#)
        #expect(second.headers["lambda-runtime-aws-request-id"] == "r2")
        let third = try connection.send(method: "POST", path: "/2018-06-01/runtime/invocation/r2/response", body: [], timeout: .seconds(5))
        #expect(third.status == 202 && third.body.isEmpty)
    }

    @Test("a chunked body over the limit is refused, not buffered")
    func chunkedLimit() throws {
        let peer = try ScriptedPeer(answers: [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + String(repeating: "x", count: 32) + "\r\n0\r\n\r\n"
        ])
        let connection = try RuntimeAPIConnection(endpoint: "127.0.0.1:\(peer.port)", maxResponseBytes: 16)
        #expect(throws: RuntimeAPIConnection.Failure.self) {
            try connection.send(method: "GET", path: "/next", timeout: .seconds(5))
        }
    }
}
