import FoundationEssentials
import GangwayPlatform

/// The body of `PATCH /api/v2/connections/{id}`: `options`, merged shallowly into the stored options
/// (a `null` deletes a key); `options.configuration` (the upstream of the password fallback) is merged one
/// level deeper, key by key, so a PATCH naming only some of its fields keeps the others.
/// `configuration.client_secret` is write-only: sealed at rest (SecretBox), never returned, and kept when a
/// PATCH omits it or echoes a redaction placeholder (`***`); a new value replaces it, `null` removes it.
public struct ConnectionChanges: Sendable {
    public var options: [String: JSONValue]?

    public init(_ payload: Payload) throws(HTTPError) {
        try payload.allowOnly(["options"])
        options = try payload.object("options")
        if let options { try Self.validate(options) }
    }

    static func invalid(_ property: String, _ why: String) -> HTTPError {
        Payload.error("Payload validation error: '\(why)' on property options.\(property).")
    }

    /// Checks the fields Gangway reads (others pass through untouched).
    static func validate(_ options: [String: JSONValue]) throws(HTTPError) {
        if let mode = options["import_mode"], !mode.isNull, mode.boolValue == nil {
            throw invalid("import_mode", "Expected type boolean but found type \(mode.typeName)")
        }
        guard let configuration = options["configuration"], !configuration.isNull else { return }
        guard let c = configuration.objectValue else {
            throw invalid("configuration", "Expected type object but found type \(configuration.typeName)")
        }
        for key in ["token_endpoint", "userinfo_endpoint", "client_id", "client_secret", "realm"] {
            guard let value = c[key], !value.isNull else { continue }
            guard let string = value.stringValue else {
                throw invalid("configuration.\(key)", "Expected type string but found type \(value.typeName)")
            }
            guard string.contains(where: { !$0.isWhitespace }), string.count <= 2048 else {
                throw invalid("configuration.\(key)", "String must be non-empty and at most 2048 characters")
            }
            if key.hasSuffix("_endpoint"), !isHTTPURL(string) {
                throw invalid("configuration.\(key)", "Expected an http(s) URL")
            }
        }
        if let timeout = c["timeout_ms"], !timeout.isNull {
            guard let ms = timeout.intValue, PasswordFallback.timeoutRange.contains(Int(ms)) else {
                let r = PasswordFallback.timeoutRange
                throw invalid("configuration.timeout_ms", "Expected an integer from \(r.lowerBound) to \(r.upperBound)")
            }
        }
    }

    /// An http(s) URL by RFC 3986's grammar (the `format: uri` of openapi.yaml): `[userinfo@]host[:port]`, then a
    /// path, a query and one fragment, each in its own characters or `%XX`. No whitespace, control character,
    /// non-ASCII byte or stray `%` reaches libcurl or a stored option. IPv6 literal hosts (brackets) are refused.
    static func isHTTPURL(_ s: String) -> Bool {
        let rest: Substring
        if s.hasPrefix("https://") {
            rest = s.dropFirst(8)
        } else if s.hasPrefix("http://") {
            rest = s.dropFirst(7)
        } else {
            return false
        }
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        var tail = rest.dropFirst(authority.count)
        var hostPort = authority
        if let at = authority.firstIndex(of: "@") {
            guard isURIPart(authority[..<at], extra: ":") else { return false }
            hostPort = authority[authority.index(after: at)...]
        }
        let host = hostPort.prefix(while: { $0 != ":" })
        let port = hostPort.dropFirst(host.count).dropFirst()
        guard !host.isEmpty, isURIPart(host, extra: ""), port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        var fragment: Substring = ""
        if let hash = tail.firstIndex(of: "#") {
            fragment = tail[tail.index(after: hash)...]
            tail = tail[..<hash]
        }
        return isURIPart(tail, extra: ":@/?") && isURIPart(fragment, extra: ":@/?")
    }

    private static let subDelimsAndUnreserved = Set("-._~!$&'()*+,;=".utf8)

    /// Unreserved characters, sub-delimiters, `extra` and `%XX` only.
    static func isURIPart(_ s: Substring, extra: String) -> Bool {
        func isHex(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b) }
        func isAlphanumeric(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        let bytes = Array(s.utf8)
        let extra = Set(extra.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { return false }
                i += 3
                continue
            }
            guard isAlphanumeric(b) || subDelimsAndUnreserved.contains(b) || extra.contains(b) else { return false }
            i += 1
        }
        return true
    }

    /// A value a client sends back after reading a redacted response (AuthHero echoes `***`): not a new secret.
    static func isPlaceholder(_ secret: String) -> Bool { secret.allSatisfy { $0 == "*" } }

    /// Applies the patch; `seal` turns a new client secret into its stored form.
    public func apply(to connection: inout Connection, seal: (String) throws -> String = { $0 }) throws {
        guard var options else { return }
        if let patch = options["configuration"]?.objectValue {
            var merged = connection.options["configuration"]?.objectValue ?? [:]
            for (key, value) in patch {
                if key == "client_secret", let secret = value.stringValue {
                    if !Self.isPlaceholder(secret) { merged[key] = .string(try seal(secret)) }
                } else if value.isNull {
                    merged[key] = nil
                } else {
                    merged[key] = value
                }
            }
            options["configuration"] = .object(merged)
        }
        connection.options = shallowMerge(connection.options, options)
        // import_mode on needs a complete upstream.
        if connection.options["import_mode"]?.boolValue == true {
            let c = connection.options["configuration"]?.objectValue ?? [:]
            for key in PasswordFallback.requiredFields where (c[key]?.stringValue ?? "").isEmpty {
                throw Payload.error(
                    "Payload validation error: 'Missing required property: options.configuration.\(key)' (required while options.import_mode is true)."
                )
            }
        }
    }
}

extension ManagementCall {
    public var connections: ConnectionDirectory { ConnectionDirectory(store: store, tenant: tenant) }

    public static let noSuchConnection = HTTPError(404, "inexistent_connection", "The connection does not exist.")

    public func connection(_ id: String?) async throws -> (Connection, Int64) {
        guard let id, !id.isEmpty, let found = try await connections.get(id) else { throw Self.noSuchConnection }
        return found
    }

    /// The tenant's applications: every one may use every connection (Gangway has no per-connection toggle yet).
    public func clientIds() async throws -> [String] {
        try await store.listValues(Application.self, prefix: StoreKeys.applications(tenant.id)).map(\.clientId)
    }

    /// `box` seals a new upstream client secret; it is asked for only when the patch carries one.
    public func updateConnection(_ id: String?, _ changes: ConnectionChanges, box: @autoclosure () throws -> SecretBox) async throws
        -> Connection
    {
        let (found, _) = try await connection(id)
        return try await store.update(Connection.self, at: StoreKeys.connection(tenant.id, found.id)) { stored in
            guard var connection = stored else { throw Self.noSuchConnection }
            let context = PasswordFallback.secretContext(tenant: tenant.id, connectionId: connection.id)
            try changes.apply(to: &connection) { secret in try box().seal(secret, context: context) }
            stored = connection
            return connection
        }
    }

    /// Connections whose strategy is one of `strategies` (comma-separated, as repeated query parameters
    /// arrive) and whose name is `name`, when given.
    public func connections(strategies: String?, name: String?) async throws -> [Connection] {
        let wanted = strategies.map { Set($0.split(separator: ",").map(String.init)) }
        return try await connections.all().filter { connection in
            (wanted?.contains(connection.strategy.rawValue) ?? true) && (name == nil || connection.name == name)
        }
    }

    /// A list answer: checkpoint paging (`{connections, next?}`) when `from`/`take` were sent, else offset paging.
    public func connectionList(_ matching: [Connection], _ paging: Paging) async throws -> GatewayResponse {
        let clients = try await clientIds()
        return try paging.response(key: "connections", all: matching, id: \.id) { $0.managementJSON(enabledClients: clients) }
    }
}
