import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// One keep-alive HTTP/1.1 connection to the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`, `host:port`).
///
/// Hand-written on purpose, like swift-aws-lambda-runtime's own Runtime API client: the peer is the
/// platform on loopback, it speaks plain HTTP/1.1 with `Content-Length`, and only three requests are ever
/// made. Going through libcurl instead cost ~0.2 ms of CPU on every warm invocation (curl_multi's poll
/// loop) and a ~7 ms `dlopen` of libcurl on every cold start, for functions that never call an upstream.
/// A worker is single-threaded and makes one request at a time, so the connection needs no locking.
final class RuntimeAPIConnection {
    struct Response {
        var status: Int
        /// Names lower-cased.
        var headers: [String: String]
        var body: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let host: String
    private let port: String
    private let maxResponseBytes: Int
    /// The `Gangway-Runtime-Credential` header line `gangway serve --mode warm` requires of its own workers
    /// (from `GANGWAY_RUNTIME_API_CREDENTIAL`); empty on AWS Lambda, which neither sets nor expects one.
    private let credentialHeader: String
    private var socket: Int32 = -1
    /// Bytes read past the end of the previous response (none in practice: no pipelining).
    private var buffer: [UInt8] = []
    /// Where `recv` writes; allocated once (a fresh 64 KiB array per read showed up in profiles).
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    /// - Parameter endpoint: `host:port`, as Lambda sets `AWS_LAMBDA_RUNTIME_API`.
    /// - Parameter credential: the secret the local gateway gave this worker; read from the environment by default.
    init(
        endpoint: String, maxResponseBytes: Int,
        credential: String? = getenv("GANGWAY_RUNTIME_API_CREDENTIAL").map { String(cString: $0) }
    ) throws(Failure) {
        guard let colon = endpoint.lastIndex(of: ":"), !endpoint[..<colon].isEmpty,
            let port = Int(endpoint[endpoint.index(after: colon)...]), (1...65535).contains(port)
        else {
            throw Failure(description: "AWS_LAMBDA_RUNTIME_API is not host:port")
        }
        self.host = String(endpoint[..<colon]).trimmingBrackets()
        self.port = String(port)
        self.maxResponseBytes = maxResponseBytes
        self.credentialHeader = credential.map { $0.isEmpty ? "" : "Gangway-Runtime-Credential: \($0)\r\n" } ?? ""
    }

    deinit {
        close()
        chunk.deallocate()
    }

    /// Sends one request and reads the whole response. A request on a connection the peer has closed in
    /// the meantime is retried once on a new one (the Runtime API may drop idle connections).
    /// - Parameter timeout: for reading the response; `nil` waits for ever (the long poll for work).
    func send(method: String, path: String, body: [UInt8]? = nil, timeout: Duration? = nil) throws(Failure) -> Response {
        var retry = socket >= 0
        while true {
            do {
                return try attempt(method: method, path: path, body: body, timeout: timeout)
            } catch {
                close()
                guard retry && error.beforeResponse else { throw Failure(description: error.description) }
                retry = false
            }
        }
    }

    // MARK: - Mechanics

    private struct AttemptFailure: Error {
        var description: String
        /// Nothing of a response arrived: safe to resend on a new connection.
        var beforeResponse: Bool
    }

    private func attempt(method: String, path: String, body: [UInt8]?, timeout: Duration?) throws(AttemptFailure) -> Response {
        if socket < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n" + credentialHeader
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var request = Array(head.utf8)
        if let body { request += body }
        try write(request)
        return try readResponse(deadline: timeout.map { ContinuousClock.now + $0 })
    }

    private func connect() throws(AttemptFailure) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &list) == 0, let first = list else {
            throw AttemptFailure(description: "cannot resolve \(host)", beforeResponse: false)
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    socket = fd
                    buffer.removeAll(keepingCapacity: true)
                    return
                }
                Glibc.close(fd)
            }
            entry = info.pointee.ai_next
        }
        throw AttemptFailure(description: "cannot connect to \(host):\(port)", beforeResponse: false)
    }

    private func close() {
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
        buffer.removeAll(keepingCapacity: true)
    }

    private func write(_ bytes: [UInt8]) throws(AttemptFailure) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw AttemptFailure(description: "write failed (errno \(errno))", beforeResponse: true) }
            sent += n
        }
    }

    /// Reads more bytes into `buffer`; false at end of stream.
    private func fill(deadline: ContinuousClock.Instant?) throws(AttemptFailure) -> Bool {
        if let deadline {
            var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            while true {
                let left = deadline - .now
                let ms = max(0, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                let ready = poll(&pfd, 1, ms)
                if ready < 0 && errno == EINTR { continue }
                guard ready > 0 else { throw AttemptFailure(description: "timed out", beforeResponse: false) }
                break
            }
        }
        while true {
            let n = recv(socket, chunk.baseAddress, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw AttemptFailure(description: "read failed (errno \(errno))", beforeResponse: buffer.isEmpty) }
            if n == 0 { return false }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<n]))
            return true
        }
    }

    private func readResponse(deadline: ContinuousClock.Instant?) throws(AttemptFailure) -> Response {
        var headEnd: Int?
        while headEnd == nil {
            headEnd = HTTPHeaderLine.endOfHead(buffer)
            if headEnd != nil { break }
            guard buffer.count < 64 * 1024 else { throw AttemptFailure(description: "response head too large", beforeResponse: false) }
            let wasEmpty = buffer.isEmpty
            guard try fill(deadline: deadline) else {
                throw AttemptFailure(description: "connection closed", beforeResponse: wasEmpty)
            }
        }
        let end = headEnd!
        // Lines of the head as byte slices (split on LF, CR dropped): no grapheme-aware String splitting.
        let lines = buffer[..<(end - 2)].split(separator: 10, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        let statusParts = lines.first.map { String(decoding: $0, as: UTF8.self).split(separator: " ") } ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw AttemptFailure(description: "malformed status line", beforeResponse: false)
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() { HTTPHeaderLine.add(line, to: &headers) }
        buffer.removeFirst(end)

        var body: [UInt8]
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try readChunked(deadline: deadline)
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length >= 0 {
            guard length <= maxResponseBytes else { throw AttemptFailure(description: "response too large", beforeResponse: false) }
            while buffer.count < length {
                guard try fill(deadline: deadline) else {
                    throw AttemptFailure(description: "connection closed mid-body", beforeResponse: false)
                }
            }
            body = Array(buffer[..<length])
            buffer.removeFirst(length)
        } else {
            // No length: the body runs to the end of the connection.
            while try fill(deadline: deadline) {
                guard buffer.count <= maxResponseBytes else {
                    throw AttemptFailure(description: "response too large", beforeResponse: false)
                }
            }
            body = buffer
            close()
        }
        if headers["connection"]?.lowercased() == "close" { close() }
        return Response(status: status, headers: headers, body: body)
    }

    private func readChunked(deadline: ContinuousClock.Instant?) throws(AttemptFailure) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            var lineEnd = buffer.firstIndex(of: 10)
            while lineEnd == nil {
                guard try fill(deadline: deadline) else {
                    throw AttemptFailure(description: "connection closed mid-body", beforeResponse: false)
                }
                lineEnd = buffer.firstIndex(of: 10)
            }
            let sizeField = buffer[..<lineEnd!].split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).first ?? []
            let sizeText = String(decoding: HTTPHeaderLine.trimmed(sizeField.last == 13 ? sizeField.dropLast() : sizeField), as: UTF8.self)
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw AttemptFailure(description: "malformed chunk", beforeResponse: false)
            }
            buffer.removeFirst(lineEnd! + 1)
            guard body.count + size <= maxResponseBytes else {
                throw AttemptFailure(description: "response too large", beforeResponse: false)
            }
            while buffer.count < size + 2 {
                guard try fill(deadline: deadline) else {
                    throw AttemptFailure(description: "connection closed mid-body", beforeResponse: false)
                }
            }
            if size == 0 {
                // No trailers are sent by the Runtime API; the last chunk ends with an empty line.
                buffer.removeFirst(2)
                return body
            }
            body += buffer[..<size]
            buffer.removeFirst(size + 2)
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingBrackets() -> String {
        hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : String(self)
    }
}
