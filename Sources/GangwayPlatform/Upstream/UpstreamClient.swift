import CCurl
import FoundationEssentials

/// One outgoing HTTP request. Header names are sent as given; bodies are never logged.
public struct UpstreamRequest: Sendable {
    public var method: String
    public var url: String
    /// In order; duplicates allowed. Names and values must not contain CR or LF (rejected as `.other`).
    public var headers: [(String, String)]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct UpstreamResponse: Sendable {
    public var status: Int
    /// Names lower-cased; repeated headers joined with ", ". Only the final response's headers
    /// (after any 100-continue / interim responses).
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}

public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case timeout, connectionFailed, invalidURL, tooLarge, other
        /// libcurl could not be loaded (or its handle allocated): no request was sent. On Lambda it comes from the
        /// layer (infra/package.sh); a process without it answers its callers instead of crashing.
        case unavailable
    }
    public var code: Code
    /// curl's message; never contains a request or response body.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "UpstreamError.\(code): \(message)" }
}

/// One reusable libcurl easy handle (keeps connections alive between calls). Not for concurrent use:
/// give each thread / task its own client, or serialize access.
///
/// Only `http` and `https` URLs are allowed; redirects are never followed (a 3xx is returned as is).
public final class UpstreamClient {
    public let connectTimeout: Duration
    public let totalTimeout: Duration?
    public let maxResponseBytes: Int

    private let handle: UnsafeMutableRawPointer?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// How many times the last `send` wrote its request, libcurl's own resend included: when a reused keep-alive
    /// connection turns out dead before any answer, libcurl sends the request again on a new connection by itself.
    /// A caller that retries counts these, so a "retry once" never becomes a third request.
    public private(set) var requestsSent = 0

    /// `curl_global_init` once per process; a `static let` is initialized exactly once, thread-safely.
    private static let globalInit: CURLcode = gangway_curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// - Parameters:
    ///   - connectTimeout: budget for DNS + TCP (+ TLS) connect.
    ///   - totalTimeout: budget for the whole request; `nil` means none (the Lambda Runtime API's long-poll).
    ///   - maxResponseBytes: larger response bodies fail with `.tooLarge`.
    public init(connectTimeout: Duration = .seconds(2), totalTimeout: Duration? = .seconds(3), maxResponseBytes: Int = 1 << 20) {
        _ = Self.globalInit
        self.handle = gangway_curl_easy_init()  // nil: every `send` throws `.unavailable`
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    deinit {
        if let handle { gangway_curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
    }

    /// Sends one request and waits for the whole response.
    /// - Parameter totalTimeout: overrides the client's total timeout for this call: leave it out to use the
    ///   client's, pass `.some(nil)` for no timeout, or `.some(.seconds(n))`.
    /// - Parameter freshConnection: open a new connection instead of reusing a kept-alive one, so libcurl has no
    ///   dead connection to resend from (a retry's one request stays one request).
    public func send(_ request: UpstreamRequest, totalTimeout: Duration?? = .none, freshConnection: Bool = false) throws(UpstreamError)
        -> UpstreamResponse
    {
        let budget: Duration? = totalTimeout ?? self.totalTimeout
        requestsSent = 0
        guard let h = handle else {
            throw UpstreamError(code: .unavailable, message: "libcurl.so.4 could not be loaded (or curl_easy_init failed)")
        }
        gangway_curl_easy_reset(h)  // keeps the connection cache, DNS cache and TLS sessions
        errorBuffer[0] = 0

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer {
            // The handle must not keep a dangling pointer to the freed list.
            _ = gangway_curl_setopt_ptr(h, CURLOPT_HTTPHEADER, nil)
            if let list = headerList { gangway_curl_slist_free_all(list) }
        }

        func set(_ option: CURLoption, _ value: Int) throws(UpstreamError) {
            let rc = gangway_curl_setopt_long(h, option, value)
            guard rc == CURLE_OK else { throw Self.error(for: rc, detail: nil) }
        }
        func set(_ option: CURLoption, _ value: String) throws(UpstreamError) {
            // libcurl copies string options (since 7.17), so a temporary C string is fine.
            let rc = value.withCString { gangway_curl_setopt_ptr(h, option, $0) }
            guard rc == CURLE_OK else { throw Self.error(for: rc, detail: nil) }
        }

        guard !request.url.isEmpty, !request.url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw UpstreamError(code: .invalidURL, message: "URL is empty or contains whitespace/control characters")
        }
        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_FOLLOWLOCATION, 0)
        try set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout))
        try set(CURLOPT_TIMEOUT_MS, budget.map(Self.milliseconds) ?? 0)
        try set(CURLOPT_TCP_NODELAY, 1)
        try set(CURLOPT_MAXFILESIZE_LARGE, maxResponseBytes)  // early abort when Content-Length says too big
        if freshConnection { try set(CURLOPT_FRESH_CONNECT, 1) }
        _ = gangway_curl_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer)

        // Method and body.
        let method = request.method.uppercased()
        guard !method.isEmpty, method.utf8.allSatisfy({ Self.isTokenByte($0) }) else {
            throw UpstreamError(code: .other, message: "invalid HTTP method")
        }
        switch method {
        case "GET" where request.body == nil:
            try set(CURLOPT_HTTPGET, 1)
        case "HEAD" where request.body == nil:
            try set(CURLOPT_NOBODY, 1)
        default:
            if method != "POST" { try set(CURLOPT_CUSTOMREQUEST, method) }
            if let body = request.body {
                try set(CURLOPT_POST, 1)
                try set(CURLOPT_POSTFIELDSIZE_LARGE, body.count)
                // COPYPOSTFIELDS copies POSTFIELDSIZE bytes now; binary-safe (NULs included).
                let rc = body.withUnsafeBytes { raw -> CURLcode in
                    if let base = raw.baseAddress { return gangway_curl_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, base) }
                    return "".withCString { gangway_curl_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0) }
                }
                guard rc == CURLE_OK else { throw Self.error(for: rc, detail: nil) }
            } else if method == "POST" {
                try set(CURLOPT_POST, 1)
                try set(CURLOPT_POSTFIELDSIZE_LARGE, 0)
                try set(CURLOPT_COPYPOSTFIELDS, "")
            }
        }

        // Headers: the caller's, plus an empty `Expect:` so curl never waits for 100-continue.
        var sawExpect = false
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy({ Self.isTokenByte($0) }),
                !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
            else {
                throw UpstreamError(code: .other, message: "invalid header name or value")
            }
            if name.lowercased() == "expect" { sawExpect = true }
            // "Name;" sends an empty header; "Name:" would remove an internal one.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            guard let appended = gangway_curl_slist_append(headerList, line) else {
                throw UpstreamError(code: .other, message: "out of memory building headers")
            }
            headerList = appended
        }
        if !sawExpect {
            guard let appended = gangway_curl_slist_append(headerList, "Expect:") else {
                throw UpstreamError(code: .other, message: "out of memory building headers")
            }
            headerList = appended
        }
        _ = gangway_curl_setopt_ptr(h, CURLOPT_HTTPHEADER, headerList)

        // Callbacks, with an unretained pointer to a box that outlives curl_easy_perform.
        let box = ResponseBox(maxBytes: maxResponseBytes, method: method)
        let userdata = Unmanaged.passUnretained(box).toOpaque()
        _ = gangway_curl_setopt_write(h, CURLOPT_WRITEFUNCTION, upstreamWriteCallback)
        _ = gangway_curl_setopt_ptr(h, CURLOPT_WRITEDATA, userdata)
        _ = gangway_curl_setopt_write(h, CURLOPT_HEADERFUNCTION, upstreamHeaderCallback)
        _ = gangway_curl_setopt_ptr(h, CURLOPT_HEADERDATA, userdata)
        // The debug callback is the one place libcurl reports each request head it writes (resends included);
        // with a callback set, VERBOSE prints nothing.
        _ = gangway_curl_setopt_debug(h, CURLOPT_DEBUGFUNCTION, upstreamDebugCallback)
        _ = gangway_curl_setopt_ptr(h, CURLOPT_DEBUGDATA, userdata)
        try set(CURLOPT_VERBOSE, 1)

        let rc = withExtendedLifetime(box) { gangway_curl_easy_perform(h) }
        requestsSent = box.requestsSent
        if box.tooLarge || rc == CURLE_FILESIZE_EXCEEDED {
            throw UpstreamError(code: .tooLarge, message: "response body exceeds \(maxResponseBytes) bytes")
        }
        guard rc == CURLE_OK else {
            throw Self.error(for: rc, detail: errorBuffer[0] == 0 ? nil : String(cString: errorBuffer))
        }
        var status = 0
        _ = gangway_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return UpstreamResponse(status: status, headers: box.headers, body: box.body)
    }

    /// GET with optional headers.
    public func get(
        url: String, headers: [(String, String)] = [], totalTimeout: Duration?? = .none, freshConnection: Bool = false
    ) throws(UpstreamError) -> UpstreamResponse {
        try send(UpstreamRequest(method: "GET", url: url, headers: headers), totalTimeout: totalTimeout, freshConnection: freshConnection)
    }

    /// POST `application/x-www-form-urlencoded` (values percent-encoded per `FormURLEncoding`).
    public func postForm(
        url: String, fields: [(String, String)], headers: [(String, String)] = [], totalTimeout: Duration?? = .none,
        freshConnection: Bool = false
    ) throws(UpstreamError) -> UpstreamResponse {
        let body = Array(FormURLEncoding.encode(fields).utf8)
        let hs = [("Content-Type", "application/x-www-form-urlencoded")] + headers.filter { $0.0.lowercased() != "content-type" }
        return try send(
            UpstreamRequest(method: "POST", url: url, headers: hs, body: body), totalTimeout: totalTimeout, freshConnection: freshConnection
        )
    }

    /// POST `application/json` with an already-encoded body.
    public func postJSON(url: String, body: [UInt8], headers: [(String, String)] = [], totalTimeout: Duration?? = .none)
        throws(UpstreamError) -> UpstreamResponse
    {
        let hs = [("Content-Type", "application/json")] + headers.filter { $0.0.lowercased() != "content-type" }
        return try send(UpstreamRequest(method: "POST", url: url, headers: hs, body: body), totalTimeout: totalTimeout)
    }

    /// POST `application/json` with an already-encoded body.
    public func postJSON(url: String, body: Data, headers: [(String, String)] = [], totalTimeout: Duration?? = .none) throws(UpstreamError)
        -> UpstreamResponse
    {
        try postJSON(url: url, body: [UInt8](body), headers: headers, totalTimeout: totalTimeout)
    }

    // MARK: - Helpers

    static func milliseconds(_ d: Duration) -> Int {
        let (seconds, atto) = d.components
        if seconds < 0 || (seconds == 0 && atto <= 0) { return 1 }  // 0 would mean "no timeout" to curl
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow { return Int(Int32.max) }
        return max(1, Int(ms.partialValue) + Int(atto / 1_000_000_000_000_000))
    }

    /// RFC 9110 token characters (method and header names).
    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    private static func error(for rc: CURLcode, detail: String?) -> UpstreamError {
        // curl's error buffer is more specific (it names host and port); fall back to the generic text.
        let message = detail ?? String(cString: gangway_curl_easy_strerror(rc))
        let code: UpstreamError.Code
        switch rc {
        case CURLE_OPERATION_TIMEDOUT:
            code = .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            code = .connectionFailed
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            code = .invalidURL
        case CURLE_FILESIZE_EXCEEDED:
            code = .tooLarge
        default:
            code = .other
        }
        return UpstreamError(code: code, message: message)
    }
}

/// Per-request accumulator shared with the C callbacks (only touched on the thread running curl_easy_perform).
private final class ResponseBox {
    let maxBytes: Int
    /// `GET ` / `POST `…: how a request head written by libcurl starts (a proxy's `CONNECT ` is not a request of ours).
    let requestLinePrefix: [UInt8]
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var tooLarge = false
    var requestsSent = 0

    init(maxBytes: Int, method: String) {
        self.maxBytes = maxBytes
        self.requestLinePrefix = Array((method + " ").utf8)
    }

    func noteHeaderOut(_ bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.starts(with: requestLinePrefix) { requestsSent += 1 }
    }

    func appendHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
        var bytes = line[...]
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() }
        if bytes.isEmpty { return }  // end of a header block
        // A new status line starts a new response (100-continue, or another hop): keep only the last block.
        if bytes.starts(with: "HTTP/".utf8) {
            headers.removeAll(keepingCapacity: true)
            return
        }
        HTTPHeaderLine.add(bytes, to: &headers)
    }
}

/// One `Name: value` line of an HTTP/1.1 head (and where a head ends), as both HTTP clients here read it (libcurl's header callback
/// and the Runtime API connection): name lower-cased, value without surrounding blanks, a repeated name
/// joined with ", ". Lines without a colon (the status line) are ignored.
enum HTTPHeaderLine {
    static func add(_ line: some BidirectionalCollection<UInt8>, to headers: inout [String: String]) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: trimmed(line[line.index(after: colon)...]), as: UTF8.self)
        headers[name] = headers[name].map { $0 + ", " + value } ?? value
    }

    /// The index just past the blank line (CRLF CRLF) that ends a head, if it has arrived.
    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count where bytes[i] == 10 && bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13 {
            return i + 1
        }
        return nil
    }

    /// Without leading and trailing spaces and tabs.
    static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence {
        var rest = bytes[...]
        while let f = rest.first, f == 0x20 || f == 0x09 { rest = rest.dropFirst() }
        while let l = rest.last, l == 0x20 || l == 0x09 { rest = rest.dropLast() }
        return rest
    }
}

private let upstreamWriteCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    ptr, size, count, userdata in
    guard let userdata else { return 0 }
    let box = Unmanaged<ResponseBox>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    if n == 0 { return 0 }
    guard let ptr else { return 0 }
    if box.body.count + n > box.maxBytes {
        box.tooLarge = true
        return 0  // makes curl fail with CURLE_WRITE_ERROR
    }
    box.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: n))
    return n
}

private let upstreamHeaderCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    ptr, size, count, userdata in
    let n = size * count
    guard let userdata, let ptr else { return n }
    let box = Unmanaged<ResponseBox>.fromOpaque(userdata).takeUnretainedValue()
    ptr.withMemoryRebound(to: UInt8.self, capacity: n) { p in
        box.appendHeaderLine(UnsafeBufferPointer(start: p, count: n))
    }
    return n
}

private let upstreamDebugCallback:
    @convention(c) (UnsafeMutableRawPointer?, curl_infotype, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
        _, type, ptr, size, userdata in
        guard type == CURLINFO_HEADER_OUT, let userdata, let ptr else { return 0 }
        let box = Unmanaged<ResponseBox>.fromOpaque(userdata).takeUnretainedValue()
        ptr.withMemoryRebound(to: UInt8.self, capacity: size) { p in
            box.noteHeaderOut(UnsafeBufferPointer(start: p, count: size))
        }
        return 0
    }
