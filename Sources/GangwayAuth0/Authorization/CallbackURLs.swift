import FoundationEssentials

/// Auth0's rules for URLs an application registers (callbacks, allowed logout URLs, web origins).
///
/// Matching is deliberately strict (RFC 9700 §4.1.3: exact string matching): URLs are compared byte for byte, never
/// normalised, so no two spellings of "the same" URL can smuggle a redirect past the list. The only freedoms are the
/// loopback port (RFC 8252 §7.3) and, for first-party applications, one `*` in the left-most host label.
public struct CallbackURLs: Sendable, Equatable {
    public let registered: [String]
    /// Kept private: callers decide it once, from the application, when they build the list.
    private let wildcards: Bool

    /// `wildcards`: whether `*` subdomain entries count (Auth0: only for first-party applications).
    public init(_ registered: [String], wildcards: Bool) {
        self.registered = registered
        self.wildcards = wildcards
    }

    public enum Resolution: Sendable, Equatable {
        case use(String)
        case missing
        case notAllowed
    }

    /// /authorize's redirect_uri: sent → `.use(sent)` when it matches an entry, else `.notAllowed`;
    /// not sent (nil or "") → `.use(the only entry)` when exactly one plain (non-wildcard) entry is registered, else `.missing`.
    ///
    /// RFC 6749 §3.1.2.3: with several entries, or only a pattern, the client must say which one it means. The lone entry
    /// must also pass `allows` itself, so a registered URL we would never redirect to is not used by default either.
    public func resolve(_ sent: String?) -> Resolution {
        guard let sent, !sent.isEmpty else {
            if registered.count == 1, let only = registered.first, !only.utf8.contains(Byte.star), allows(only) {
                return .use(only)
            }
            return .missing
        }
        return allows(sent) ? .use(sent) : .notAllowed
    }

    /// Whether `candidate` matches one registered entry (redirect_uri rules below).
    ///
    /// Exact byte comparison (no case folding, no Unicode equivalence, no dot-segment or percent decoding); a fragment,
    /// a script scheme or an unsafe character refuses the candidate before any entry is looked at.
    public func allows(_ candidate: String) -> Bool {
        let bytes = Array(candidate.utf8)
        guard Self.isSafe(candidate), !bytes.contains(Byte.hash) else { return false }
        return registered.contains { matches(bytes, entry: $0) }
    }

    /// /v2/logout's returnTo: like `allows`, but the candidate's query and fragment are ignored (Auth0 compares without them).
    ///
    /// The whole candidate (query included) must still be safe: it is what ends up in the `Location` header.
    public func allowsLogoutReturn(_ returnTo: String) -> Bool {
        let bytes = Array(returnTo.utf8)
        guard Self.isSafe(returnTo), Self.schemeEnd(bytes) != nil else { return false }
        let end = bytes.firstIndex { $0 == Byte.question || $0 == Byte.hash } ?? bytes.endIndex
        let stripped = Array(bytes[..<end])
        return registered.contains { matches(stripped, entry: $0) }
    }

    /// An origin (`scheme://host[:port]`, no path) is allowed when an entry's origin equals it (entries may be full URLs or
    /// bare origins; wildcard entries match one label as below). Used for web_message targets and CORS.
    ///
    /// The candidate must already be in serialised form (as browsers send `Origin`): lower-case, no default port.
    public func allowsOrigin(_ origin: String) -> Bool {
        guard let canonical = Self.origin(of: origin), canonical.utf8.elementsEqual(origin.utf8),
            let candidate = URLParts(Array(origin.utf8))
        else { return false }
        return registered.contains { entry in
            if entry.utf8.contains(Byte.star) {
                guard wildcards, let pattern = WildcardEntry(Array(entry.utf8)) else { return false }
                return pattern.matchesOrigin(candidate)
            }
            return Self.origin(of: entry)?.utf8.elementsEqual(origin.utf8) ?? false
        }
    }

    /// `scheme://host[:port]` of an absolute http(s) URL: scheme and host lower-cased, default port (80/443) dropped; nil when
    /// not an absolute http(s) URL with a host.
    ///
    /// User info is dropped (it is no part of an origin). Hosts must be ASCII: internationalised names are registered
    /// in their `xn--` form, which is what browsers send.
    public static func origin(of url: String) -> String? {
        guard isSafe(url), let parts = URLParts(Array(url.utf8)) else { return nil }
        let scheme = lowercased(parts.scheme)
        guard let standardPort = defaultPort(scheme), parts.host.allSatisfy(isHostByte) else { return nil }
        var port: Int?
        if let written = parts.port, !written.isEmpty {
            guard let number = portNumber(written) else { return nil }
            port = number == standardPort ? nil : number
        }
        let host = String(decoding: lowercased(parts.host), as: UTF8.self)
        return String(decoding: scheme, as: UTF8.self) + "://" + host + (port.map { ":\($0)" } ?? "")
    }

    // MARK: - Matching one entry

    private func matches(_ candidate: [UInt8], entry: String) -> Bool {
        let entryBytes = Array(entry.utf8)
        if entryBytes.contains(Byte.star) {
            // A pattern never matches literally: without the flag (or when malformed) it matches nothing at all.
            guard wildcards, let pattern = WildcardEntry(entryBytes) else { return false }
            return pattern.matches(candidate)
        }
        return candidate == entryBytes || Self.loopbackMatches(candidate, entry: entryBytes)
    }

    /// RFC 8252 §7.3: native apps listen on an ephemeral loopback port, so only the port may differ.
    private static func loopbackMatches(_ candidate: [UInt8], entry: [UInt8]) -> Bool {
        guard let registered = URLParts(entry), registered.userinfo == nil, registered.scheme.elementsEqual("http".utf8),
            loopbackHosts.contains(where: { registered.host.elementsEqual($0.utf8) }),
            registered.port.map({ portNumber($0) != nil }) ?? true,
            let sent = URLParts(candidate), sent.userinfo == nil,
            sent.scheme == registered.scheme, sent.host == registered.host, sent.tail == registered.tail
        else { return false }
        return sent.port.map { portNumber($0) != nil } ?? true
    }

    private static let loopbackHosts = ["127.0.0.1", "[::1]", "localhost"]

    // MARK: - Character rules

    /// Refuses what must never reach a `Location` header or be compared at all: empty strings, control characters,
    /// white space, backslashes (browsers read `\` as `/`) and script-bearing schemes.
    private static func isSafe(_ url: String) -> Bool {
        guard !url.isEmpty else { return false }
        for scalar in url.unicodeScalars {
            let value = scalar.value
            if value <= 0x20 || (0x7F...0x9F).contains(value) || scalar == "\\" || scalar.properties.isWhitespace {
                return false
            }
        }
        let bytes = Array(url.utf8)
        if let end = schemeEnd(bytes) {
            let scheme = lowercased(bytes[..<end])
            if forbiddenSchemes.contains(where: { scheme.elementsEqual($0.utf8) }) { return false }
        }
        return true
    }

    private static let forbiddenSchemes = ["javascript", "data", "vbscript"]

    /// Index of the `:` ending an RFC 3986 scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), nil when there is none.
    fileprivate static func schemeEnd(_ bytes: [UInt8]) -> Int? {
        guard let first = bytes.first, isLetter(first) else { return nil }
        for (index, byte) in bytes.enumerated().dropFirst() {
            if byte == Byte.colon { return index }
            guard isLetter(byte) || isDigit(byte) || byte == Byte.plus || byte == Byte.minus || byte == Byte.dot else {
                return nil
            }
        }
        return nil
    }

    /// `1...65535` written in decimal digits only (no sign, at most five digits).
    fileprivate static func portNumber(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard (1...5).contains(bytes.count), bytes.allSatisfy(isDigit) else { return nil }
        let number = bytes.reduce(0) { $0 * 10 + Int($1 - Byte.zero) }
        return (1...65_535).contains(number) ? number : nil
    }

    fileprivate static func defaultPort<S: Sequence<UInt8>>(_ scheme: S) -> Int? {
        if scheme.elementsEqual("https".utf8) { return 443 }
        if scheme.elementsEqual("http".utf8) { return 80 }
        return nil
    }

    /// The bytes `*` may stand for, and its neighbours in the pattern: one lower-case DNS label.
    fileprivate static func isLabelByte(_ byte: UInt8) -> Bool {
        (Byte.lowerA...Byte.lowerZ).contains(byte) || isDigit(byte) || byte == Byte.minus
    }

    /// RFC 3986 reg-name / IP-literal characters, ASCII only.
    private static func isHostByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || hostPunctuation.contains(byte)
    }

    private static let hostPunctuation = Set("-._~%!$&'()*+,;=[]:".utf8)

    private static func isLetter(_ byte: UInt8) -> Bool {
        (Byte.lowerA...Byte.lowerZ).contains(byte) || (Byte.upperA...Byte.upperZ).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (Byte.zero...Byte.nine).contains(byte) }

    /// ASCII-only lower-casing: Unicode case mapping could turn a non-ASCII host into an ASCII look-alike.
    private static func lowercased<S: Sequence<UInt8>>(_ bytes: S) -> [UInt8] {
        bytes.map { (Byte.upperA...Byte.upperZ).contains($0) ? $0 + 0x20 : $0 }
    }
}

/// ASCII bytes the parser looks for.
private enum Byte {
    static let star = UInt8(ascii: "*")
    static let hash = UInt8(ascii: "#")
    static let question = UInt8(ascii: "?")
    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let at = UInt8(ascii: "@")
    static let dot = UInt8(ascii: ".")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let lowerA = UInt8(ascii: "a")
    static let lowerZ = UInt8(ascii: "z")
    static let upperA = UInt8(ascii: "A")
    static let upperZ = UInt8(ascii: "Z")
}

/// `scheme://[userinfo@]host[:port]tail`, split without any decoding or normalisation (all parts as written).
private struct URLParts {
    let scheme: ArraySlice<UInt8>
    let userinfo: ArraySlice<UInt8>?
    /// IPv6 literals keep their brackets.
    let host: ArraySlice<UInt8>
    /// Present (possibly empty) when a `:` follows the host.
    let port: ArraySlice<UInt8>?
    /// Path, query and fragment.
    let tail: ArraySlice<UInt8>

    init?(_ bytes: [UInt8]) {
        guard let colon = CallbackURLs.schemeEnd(bytes), bytes.count >= colon + 3,
            bytes[colon + 1] == Byte.slash, bytes[colon + 2] == Byte.slash
        else { return nil }
        let start = colon + 3
        let end = bytes[start...].firstIndex { $0 == Byte.slash || $0 == Byte.question || $0 == Byte.hash } ?? bytes.endIndex
        var hostStart = start
        if let at = bytes[start..<end].lastIndex(of: Byte.at) {
            userinfo = bytes[start..<at]
            hostStart = at + 1
        } else {
            userinfo = nil
        }
        let hostAndPort = bytes[hostStart..<end]
        let hostEnd: Int
        if hostAndPort.first == Byte.openBracket {
            guard let close = hostAndPort.firstIndex(of: Byte.closeBracket) else { return nil }
            hostEnd = close + 1
        } else {
            hostEnd = hostAndPort.firstIndex(of: Byte.colon) ?? end
        }
        host = bytes[hostStart..<hostEnd]
        if hostEnd == end {
            port = nil
        } else {
            guard bytes[hostEnd] == Byte.colon else { return nil }
            port = bytes[(hostEnd + 1)..<end]
        }
        guard !host.isEmpty else { return nil }
        scheme = bytes[..<colon]
        tail = bytes[end...]
    }
}

/// A valid Auth0 wildcard entry: `http(s)://prefix*suffix.label.label[…][:port][tail]`, one `*`, in the first label.
private struct WildcardEntry {
    let scheme: ArraySlice<UInt8>
    let prefix: ArraySlice<UInt8>
    let suffix: ArraySlice<UInt8>
    /// Everything after the wildcard label: two or more lower-case labels.
    let domain: ArraySlice<UInt8>
    let port: ArraySlice<UInt8>?
    /// The port a browser would connect to, for origin comparison.
    let effectivePort: Int
    let tail: ArraySlice<UInt8>

    init?(_ bytes: [UInt8]) {
        guard bytes.count(where: { $0 == Byte.star }) == 1, let parts = URLParts(bytes), parts.userinfo == nil,
            let defaultPort = CallbackURLs.defaultPort(parts.scheme),
            let dot = parts.host.firstIndex(of: Byte.dot)
        else { return nil }
        let label = parts.host[..<dot]
        guard let star = label.firstIndex(of: Byte.star) else { return nil }
        prefix = label[..<star]
        suffix = label[(star + 1)...]
        domain = parts.host[(dot + 1)...]
        let labels = domain.split(separator: Byte.dot, omittingEmptySubsequences: false)
        guard prefix.allSatisfy(CallbackURLs.isLabelByte), suffix.allSatisfy(CallbackURLs.isLabelByte), labels.count >= 2,
            labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy(CallbackURLs.isLabelByte) })
        else { return nil }
        if let written = parts.port {
            guard let number = CallbackURLs.portNumber(written) else { return nil }
            effectivePort = number
        } else {
            effectivePort = defaultPort
        }
        scheme = parts.scheme
        port = parts.port
        tail = parts.tail
    }

    /// redirect_uri / returnTo: only the wildcard label may differ; scheme, port and tail compare as written.
    func matches(_ candidate: [UInt8]) -> Bool {
        guard let sent = URLParts(candidate), sent.userinfo == nil else { return false }
        return sent.scheme == scheme && hostMatches(sent.host) && sent.port == port && sent.tail == tail
    }

    /// A serialised origin: the port compares by value, since the origin drops a default one the entry may spell out.
    func matchesOrigin(_ origin: URLParts) -> Bool {
        let sentPort = origin.port.flatMap(CallbackURLs.portNumber) ?? CallbackURLs.defaultPort(origin.scheme)
        return origin.scheme == scheme && hostMatches(origin.host) && sentPort == effectivePort && origin.tail.isEmpty
    }

    /// `*` stands for one non-empty label of `[a-z0-9-]` (at most 63 bytes): never a dot, never upper case.
    private func hostMatches(_ host: ArraySlice<UInt8>) -> Bool {
        guard let dot = host.firstIndex(of: Byte.dot), host[(dot + 1)...] == domain else { return false }
        let label = host[..<dot]
        return label.count <= 63 && label.count > prefix.count + suffix.count && label.allSatisfy(CallbackURLs.isLabelByte)
            && label.starts(with: prefix) && label.reversed().starts(with: suffix.reversed())
    }
}
