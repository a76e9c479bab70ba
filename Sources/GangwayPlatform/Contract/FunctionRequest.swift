import FoundationEssentials

/// The event a function received, with the accessors every endpoint needs.
public struct FunctionRequest: Sendable {
    public let event: GatewayEvent
    /// Largest body (after base64 decoding) a function accepts; larger bodies get 413.
    public let maxBodyBytes: Int

    public init(event: GatewayEvent, maxBodyBytes: Int) {
        self.event = event
        self.maxBodyBytes = maxBodyBytes
    }

    public var method: String { event.requestContext.http.method.uppercased() }
    public var path: String { event.rawPath }
    /// `"GET /.well-known/jwks.json"`: the route in infra/routes.json that matched this request.
    public var routeKey: String { event.routeKey }
    public var requestId: String { event.requestContext.requestId }
    public var sourceIP: String { event.requestContext.http.sourceIp }

    public func header(_ name: String) -> String? { event.headers[name.lowercased()] }

    /// The host the caller addressed (with port, lower-case): it selects the tenant.
    public var host: String { (header("host") ?? event.requestContext.domainName).lowercased() }

    /// A path parameter as the route named it (`{id}`), already percent-decoded by the gateway.
    public func pathParameter(_ name: String) -> String? { event.pathParameters?[name] }

    public func query(_ name: String) -> String? { event.queryStringParameters?[name] }

    /// The raw body bytes; 413 when over the limit, 400 when base64 is broken.
    public func body() throws(HTTPError) -> [UInt8] {
        guard let body = event.body, !body.isEmpty else { return [] }
        let bytes: [UInt8]
        if event.isBase64Encoded {
            guard body.utf8.count / 4 * 3 <= maxBodyBytes + 3, let data = Data(base64Encoded: body) else {
                throw body.utf8.count / 4 * 3 > maxBodyBytes + 3 ? Self.tooLarge : .badRequest("Body is not valid base64.")
            }
            bytes = Array(data)
        } else {
            bytes = Array(body.utf8)
        }
        guard bytes.count <= maxBodyBytes else { throw Self.tooLarge }
        return bytes
    }

    static let tooLarge = HTTPError(413, "request_too_large", "Request body is too large.")

    /// The body's parameters, from JSON (an object) or from `application/x-www-form-urlencoded`.
    /// Form values arrive as strings; a JSON `null` stays `.null` so callers can treat it as "not sent".
    public func parameters() throws(HTTPError) -> [String: JSONValue] {
        let bytes = try body()
        if bytes.isEmpty { return [:] }
        let type = (header("content-type") ?? "").lowercased()
        if type.hasPrefix("application/x-www-form-urlencoded") {
            guard let text = String(validating: bytes, as: UTF8.self), let pairs = FormURLEncoding.decode(text) else {
                throw .badRequest("Body is not valid form data.")
            }
            var result: [String: JSONValue] = [:]
            for (key, value) in pairs where result[key] == nil { result[key] = .string(value) }
            return result
        }
        if type.isEmpty || type.hasPrefix("application/json") || type.contains("+json") {
            guard let value = try? JSON.decode(JSONValue.self, from: Data(bytes)), case .object(let object) = value else {
                throw .badRequest("Body must be a JSON object.")
            }
            return object
        }
        throw HTTPError(415, "invalid_request", "Unsupported content type; send application/json or application/x-www-form-urlencoded.")
    }
}
