import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// A loopback HTTP/1.1 server (python3 http.server, threaded) started once for the suite.
/// It exits when our end of its stdin closes, i.e. when the test process exits.
final class UpstreamTestServer: @unchecked Sendable {
    static let shared: UpstreamTestServer = {
        do { return try UpstreamTestServer() } catch { fatalError("could not start loopback server: \(error)") }
    }()

    let port: Int
    private let process: Process
    private let stdin: Pipe

    var base: String { "http://127.0.0.1:\(port)" }

    static let script = #"""
        import json, os, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def reply(self, status, body, ctype="application/json", extra=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra: self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = self.path.split("?")[0]
                if path == "/echo":
                    out = {"method": self.command, "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body.decode("utf-8", "replace"), "bodyLength": len(body),
                           "clientPort": self.client_address[1]}
                    self.reply(200, json.dumps(out).encode(), extra=[("X-Echo-Header", "Mixed-Case-Value")])
                elif path == "/slow":
                    time.sleep(5)
                    self.reply(200, b"finally")
                elif path == "/big":
                    self.reply(200, b"x" * (2 * 1024 * 1024), "application/octet-stream")
                elif path == "/bigstream":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for _ in range(32): self.wfile.write(b"y" * 65536)
                    self.close_connection = True
                elif path == "/status503":
                    self.reply(503, b'{"error":"unavailable"}', extra=[("Retry-After", "1")])
                elif path == "/redirect":
                    self.reply(302, b"", "text/plain", extra=[("Location", "/echo")])
                elif path == "/multi":
                    self.reply(200, b"ok", "text/plain", extra=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
                else:
                    self.reply(404, b"not found", "text/plain")
            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

        class S(ThreadingHTTPServer):
            daemon_threads = True
            def handle_error(self, request, client_address): pass  # clients hanging up early (timeouts, tooLarge) are expected

        srv = S(("127.0.0.1", 0), H)
        print(srv.server_address[1], flush=True)
        def watch():
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        srv.serve_forever()
        """#

    init() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script]
        let out = Pipe()
        let inp = Pipe()
        process.standardOutput = out
        process.standardInput = inp
        try process.run()
        // Read the port line.
        var line = Data()
        let handle = out.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            let port = Int(text)
        else {
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
        self.process = process
        self.stdin = inp
    }
}

private func json(_ response: UpstreamResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(response.body))
    return try #require(object as? [String: Any])
}

private func upstreamError(_ body: () throws(UpstreamError) -> Void) -> UpstreamError? {
    do {
        try body()
        return nil
    } catch { return error }
}

private func elapsed(_ body: () throws -> Void) rethrows -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    return clock.now - start
}

@Suite("UpstreamClient")
struct UpstreamClientTests {
    let server = UpstreamTestServer.shared

    @Test func getEcho() throws {
        let client = UpstreamClient()
        let r = try client.send(UpstreamRequest(url: server.base + "/echo?x=1", headers: [("X-Custom-Header", "Foo")]))
        #expect(r.status == 200)
        let obj = try json(r)
        #expect(obj["method"] as? String == "GET")
        #expect(obj["path"] as? String == "/echo?x=1")
        let headers = try #require(obj["headers"] as? [String: String])
        #expect(headers["x-custom-header"] == "Foo")
        #expect(headers["expect"] == nil)
        #expect(obj["bodyLength"] as? Int == 0)
    }

    @Test func responseHeadersAreLowerCased() throws {
        let r = try UpstreamClient().get(url: server.base + "/echo")
        #expect(r.headers["x-echo-header"] == "Mixed-Case-Value")
        #expect(r.headers["content-type"] == "application/json")
        #expect(r.headers["X-Echo-Header"] == nil)
        #expect(r.headers.keys.allSatisfy { $0 == $0.lowercased() })
    }

    @Test func repeatedHeadersAreJoined() throws {
        let r = try UpstreamClient().get(url: server.base + "/multi")
        #expect(r.headers["set-cookie"] == "a=1, b=2")
        #expect(r.bodyString == "ok")
    }

    @Test func postJSONRoundTrip() throws {
        let client = UpstreamClient()
        let payload = #"{"password":"s3cr\u00e9t","n":1}"#
        let r = try client.postJSON(url: server.base + "/echo", body: Array(payload.utf8), headers: [("Authorization", "Bearer abc")])
        #expect(r.status == 200)
        let obj = try json(r)
        #expect(obj["method"] as? String == "POST")
        #expect(obj["body"] as? String == payload)
        let headers = try #require(obj["headers"] as? [String: String])
        #expect(headers["content-type"] == "application/json")
        #expect(headers["authorization"] == "Bearer abc")
        #expect(headers["expect"] == nil)  // no 100-continue dance

        // The Data overload, and a body larger than curl's 1 KiB Expect threshold.
        let large = Data(("{\"k\":\"" + String(repeating: "z", count: 100_000) + "\"}").utf8)
        let r2 = try client.postJSON(url: server.base + "/echo", body: large)
        #expect(try json(r2)["bodyLength"] as? Int == large.count)
        #expect(try #require(json(r2)["headers"] as? [String: String])["expect"] == nil)
    }

    @Test func postFormRoundTrip() throws {
        let fields = [("grant_type", "password"), ("username", "a b+c@example.com"), ("password", "p&ss=w%rd ü/?#")]
        let r = try UpstreamClient().postForm(url: server.base + "/echo", fields: fields)
        let obj = try json(r)
        let headers = try #require(obj["headers"] as? [String: String])
        #expect(headers["content-type"] == "application/x-www-form-urlencoded")
        let body = try #require(obj["body"] as? String)
        #expect(body == "grant_type=password&username=a+b%2Bc%40example.com&password=p%26ss%3Dw%25rd+%C3%BC%2F%3F%23")
        let decoded = try #require(FormURLEncoding.decode(body))
        #expect(decoded.map(\.0) == fields.map(\.0))
        #expect(decoded.map(\.1) == fields.map(\.1))
    }

    @Test func otherMethodsAndBinaryBody() throws {
        let client = UpstreamClient()
        let bytes: [UInt8] = [0, 1, 2, 0, 0x7F]
        let put = try client.send(UpstreamRequest(method: "PUT", url: server.base + "/echo", body: bytes))
        #expect(try json(put)["method"] as? String == "PUT")
        #expect(try json(put)["bodyLength"] as? Int == bytes.count)
        let del = try client.send(UpstreamRequest(method: "DELETE", url: server.base + "/echo"))
        #expect(try json(del)["method"] as? String == "DELETE")
        let head = try client.send(UpstreamRequest(method: "HEAD", url: server.base + "/echo"))
        #expect(head.status == 200 && head.body.isEmpty)
        let emptyPost = try client.send(UpstreamRequest(method: "POST", url: server.base + "/echo", body: []))
        #expect(try json(emptyPost)["bodyLength"] as? Int == 0)
    }

    @Test func statusPassThrough() throws {
        let r = try UpstreamClient().get(url: server.base + "/status503")
        #expect(r.status == 503)
        #expect(r.headers["retry-after"] == "1")
        #expect(r.bodyString == #"{"error":"unavailable"}"#)
        let missing = try UpstreamClient().get(url: server.base + "/nope")
        #expect(missing.status == 404)
    }

    @Test func redirectIsNotFollowed() throws {
        let r = try UpstreamClient().get(url: server.base + "/redirect")
        #expect(r.status == 302)
        #expect(r.headers["location"] == "/echo")
        #expect(r.body.isEmpty)
    }

    @Test func totalTimeoutCutsSlowResponse() throws {
        let client = UpstreamClient(totalTimeout: .seconds(3))
        var caught: UpstreamError?
        let took = elapsed {
            caught = upstreamError { () throws(UpstreamError) in
                _ = try client.send(UpstreamRequest(url: server.base + "/slow"), totalTimeout: .some(.milliseconds(800)))
            }
        }
        #expect(caught?.code == .timeout)
        #expect(took < .milliseconds(1800))
        #expect(took >= .milliseconds(700))
        // The client stays usable after a timeout.
        #expect(try client.get(url: server.base + "/echo").status == 200)
    }

    @Test func clientDefaultTimeoutApplies() throws {
        let client = UpstreamClient(totalTimeout: .milliseconds(500))
        var caught: UpstreamError?
        let took = elapsed {
            caught = upstreamError { () throws(UpstreamError) in _ = try client.get(url: server.base + "/slow") }
        }
        #expect(caught?.code == .timeout)
        #expect(took < .milliseconds(1500))
    }

    @Test func connectionRefusedFailsFast() throws {
        // Bind an ephemeral port, then close it: nothing listens there.
        let port = try closedPort()
        var caught: UpstreamError?
        let took = elapsed {
            caught = upstreamError { () throws(UpstreamError) in _ = try UpstreamClient().get(url: "http://127.0.0.1:\(port)/") }
        }
        #expect(caught?.code == .connectionFailed)
        #expect(took < .seconds(1))
    }

    @Test func invalidURLs() throws {
        let client = UpstreamClient()
        for url in ["", "not a url", "file:///etc/passwd", "ftp://127.0.0.1/", "http://exa mple.com/", "http://[::1/"] {
            var caught: UpstreamError?
            do { _ = try client.get(url: url) } catch { caught = error }
            #expect(caught?.code == .invalidURL, "url: \(url) -> \(String(describing: caught))")
        }
    }

    @Test func headerInjectionRejected() throws {
        var caught: UpstreamError?
        do { _ = try UpstreamClient().get(url: server.base + "/echo", headers: [("X-A", "v\r\nX-Injected: 1")]) } catch { caught = error }
        #expect(caught?.code == .other)
    }

    @Test func tooLargeResponses() throws {
        let client = UpstreamClient(maxResponseBytes: 1 << 20)
        for path in ["/big", "/bigstream"] {  // with Content-Length, and without (read until close)
            var caught: UpstreamError?
            do { _ = try client.get(url: server.base + path) } catch { caught = error }
            #expect(caught?.code == .tooLarge, "\(path)")
        }
        let roomy = try UpstreamClient(maxResponseBytes: 4 << 20).get(url: server.base + "/big")
        #expect(roomy.body.count == 2 * 1024 * 1024)
        // Still usable.
        #expect(try client.get(url: server.base + "/echo").status == 200)
    }

    @Test func clientReuseKeepsConnectionAlive() throws {
        let client = UpstreamClient()
        var ports: Set<Int> = []
        for i in 0..<6 {
            let r =
                i.isMultiple(of: 2)
                ? try client.get(url: server.base + "/echo?i=\(i)")
                : try client.postForm(url: server.base + "/echo", fields: [("i", "\(i)")])
            #expect(r.status == 200)
            let obj = try json(r)
            #expect(obj["method"] as? String == (i.isMultiple(of: 2) ? "GET" : "POST"))
            if !i.isMultiple(of: 2) { #expect(obj["body"] as? String == "i=\(i)") }
            ports.insert(try #require(obj["clientPort"] as? Int))
        }
        #expect(ports.count == 1, "expected one kept-alive connection, saw client ports \(ports)")
    }

    @Test func noTotalTimeoutWaitsForLongPoll() throws {
        // The Lambda Runtime API's GET /next blocks; nil total timeout must not cut it.
        let client = UpstreamClient(totalTimeout: .milliseconds(200))
        let r = try client.send(UpstreamRequest(url: server.base + "/slow"), totalTimeout: .some(nil))
        #expect(r.status == 200)
        #expect(r.bodyString == "finally")
    }
}

@Suite("FormURLEncoding")
struct FormURLEncodingTests {
    @Test func encodeSpecials() {
        #expect(FormURLEncoding.encode([("a b", "c+d"), ("e", "*-._~!")]) == "a+b=c%2Bd&e=*-._%7E%21")
        #expect(FormURLEncoding.encode([]) == "")
        #expect(FormURLEncoding.encode([("k", "")]) == "k=")
        #expect(FormURLEncoding.encode([("emoji", "😀")]) == "emoji=%F0%9F%98%80")
    }

    @Test func decodeBasics() throws {
        let d = try #require(FormURLEncoding.decode("a=1&b=x+y&c=%2B%26%3d&&d&e=&a=2"))
        #expect(d.map(\.0) == ["a", "b", "c", "d", "e", "a"])
        #expect(d.map(\.1) == ["1", "x y", "+&=", "", "", "2"])
        #expect(FormURLEncoding.decode("")?.isEmpty == true)
        #expect(FormURLEncoding.decode("k=a=b")?.first?.1 == "a=b")
    }

    @Test func decodeStrict() {
        #expect(FormURLEncoding.decode("a=%") == nil)
        #expect(FormURLEncoding.decode("a=%2") == nil)
        #expect(FormURLEncoding.decode("a=%zz") == nil)
        #expect(FormURLEncoding.decode("a=%FF") == nil)  // not UTF-8
        #expect(FormURLEncoding.decode("%G0=1") == nil)
    }

    @Test func roundTrip() throws {
        let fields = [("weird key &=", "välue + 100% \n\r\t"), ("", ""), ("x", "日本語")]
        let decoded = try #require(FormURLEncoding.decode(FormURLEncoding.encode(fields)))
        // An empty name and value serializes as "=" which decodes back to ("", "").
        #expect(decoded.map(\.0) == fields.map(\.0))
        #expect(decoded.map(\.1) == fields.map(\.1))
    }
}

/// An ephemeral loopback port with no listener.
private func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EBADF) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    guard named == 0 else { throw POSIXError(.EINVAL) }
    return Int(UInt16(bigEndian: addr.sin_port))
}
