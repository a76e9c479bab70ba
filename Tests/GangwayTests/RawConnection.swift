import Foundation

@testable import GangwayPlatform

/// One plain TCP connection to a loopback port, driven byte by byte: what an abusive or foreign client does
/// (slow headers, idle keep-alive, forged Runtime API calls), which no ordinary HTTP client lets a test do.
final class RawConnection {
    struct Response {
        var status: Int
        /// Names lower-cased.
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private(set) var fd: Int32 = -1

    /// Connects, or returns nil when the connection is refused or not accepted within `timeout`.
    init?(port: Int, timeout: Duration = .seconds(2)) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let micros = timeout.components.seconds * 1_000_000 + timeout.components.attoseconds / 1_000_000_000_000
        var tv = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            fd = -1
            return nil
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends all the bytes; false once the peer has gone.
    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Whether the peer closes (EOF or reset) within `timeout`; bytes it sends meanwhile are read and dropped.
    func closedByPeer(within timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) >= 0 else { return true }
            if pfd.revents == 0 { continue }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) { return true }
        }
        return false
    }

    /// Whether the peer has sent something (or closed) within `timeout`; nothing is read.
    func readable(within timeout: Duration) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let millis = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        return poll(&pfd, 1, Int32(millis)) > 0
    }

    /// Reads one response (head, then a `Content-Length` body or everything up to the close).
    func readResponse(timeout: Duration = .seconds(5)) -> Response? {
        let deadline = ContinuousClock.now + timeout
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var head: (status: Int, headers: [String: String], end: Int)?
        while ContinuousClock.now < deadline {
            if head == nil, let end = HTTPHeaderLine.endOfHead(buffer) {
                let lines = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                let parts = lines.first?.split(separator: " ") ?? []
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                head = (parts.count >= 2 ? Int(parts[1]) ?? 0 : 0, headers, end)
            }
            if let head, let length = head.headers["content-length"].flatMap(Int.init), buffer.count >= head.end + length {
                return Response(status: head.status, headers: head.headers, body: Array(buffer[head.end..<(head.end + length)]))
            }
            let left = deadline - .now
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            if ready <= 0 { continue }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 {
                guard let head else { return nil }
                return Response(status: head.status, headers: head.headers, body: Array(buffer[head.end...]))
            }
            buffer += chunk[..<n]
        }
        return nil
    }
}

/// What /proc says about a running process: its listening loopback ports, descriptors and memory.
enum ProcessProbe {
    /// The TCP ports `pid` listens on (its sockets in LISTEN state, matched by inode in /proc/net/tcp).
    static func listeningPorts(of pid: pid_t) -> [Int] {
        let fdDirectory = "/proc/\(pid)/fd"
        let inodes = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []).compactMap { entry -> String? in
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + entry),
                    target.hasPrefix("socket:[")
                else { return nil }
                return String(target.dropFirst(8).dropLast())
            })
        // Read to the end: a /proc file reports size 0, and a single read returns only its first page.
        let table = String(decoding: FileHandle(forReadingAtPath: "/proc/net/tcp")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        return table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { return nil }
            return fields[1].split(separator: ":").last.flatMap { Int($0, radix: 16) }
        }.sorted()
    }

    static func openDescriptors(of pid: pid_t) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// A `kB` figure from /proc/<pid>/status (`VmRSS`, `VmHWM`), in bytes.
    static func memory(_ field: String, of pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return 0
    }

    /// The live child processes of `pid` (its workers), from the parent field of every /proc/<n>/stat.
    static func children(of pid: pid_t) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, fields[0] != "Z", pid_t(fields[1]) == pid else { return nil }
            return child
        }.sorted()
    }
}
