import FoundationEssentials

/// One HTTP request as API Gateway (HTTP API, payload format 2.0) hands it to a Lambda function.
/// Gangway's functions read exactly this shape, so the same handler runs locally and on AWS.
public struct GatewayEvent: Codable, Sendable {
    public var version: String
    public var routeKey: String
    public var rawPath: String
    public var rawQueryString: String
    public var cookies: [String]?
    /// Header names are lower-case; repeated headers are joined with commas, as API Gateway does.
    public var headers: [String: String]
    public var queryStringParameters: [String: String]?
    public var pathParameters: [String: String]?
    public var requestContext: RequestContext
    public var body: String?
    public var isBase64Encoded: Bool

    public struct RequestContext: Codable, Sendable {
        public var accountId: String?
        public var apiId: String?
        public var domainName: String
        public var domainPrefix: String?
        public var requestId: String
        public var routeKey: String?
        public var stage: String?
        public var time: String?
        public var timeEpoch: Int64?
        public var http: HTTP

        public init(domainName: String, requestId: String, http: HTTP, routeKey: String? = nil, timeEpoch: Int64? = nil) {
            self.domainName = domainName
            self.requestId = requestId
            self.http = http
            self.routeKey = routeKey
            self.timeEpoch = timeEpoch
            self.stage = "$default"
        }
    }

    public struct HTTP: Codable, Sendable {
        public var method: String
        public var path: String
        public var `protocol`: String?
        public var sourceIp: String
        public var userAgent: String?

        public init(method: String, path: String, protocol: String? = "HTTP/1.1", sourceIp: String, userAgent: String?) {
            self.method = method
            self.path = path
            self.protocol = `protocol`
            self.sourceIp = sourceIp
            self.userAgent = userAgent
        }
    }

    public init(
        routeKey: String, rawPath: String, rawQueryString: String, headers: [String: String],
        queryStringParameters: [String: String]?, pathParameters: [String: String]?,
        requestContext: RequestContext, body: String?, isBase64Encoded: Bool
    ) {
        self.version = "2.0"
        self.routeKey = routeKey
        self.rawPath = rawPath
        self.rawQueryString = rawQueryString
        self.headers = headers
        self.queryStringParameters = queryStringParameters
        self.pathParameters = pathParameters
        self.requestContext = requestContext
        self.body = body
        self.isBase64Encoded = isBase64Encoded
    }
}

/// What a function answers: API Gateway's payload format 2.0 response.
public struct GatewayResponse: Codable, Sendable, Equatable {
    public var statusCode: Int
    public var headers: [String: String]
    public var body: String
    public var isBase64Encoded: Bool
    /// `Set-Cookie` values, one per cookie (payload format 2.0 keeps them apart from `headers`, which cannot repeat).
    public var cookies: [String]?

    public init(
        statusCode: Int, headers: [String: String] = [:], body: String = "", isBase64Encoded: Bool = false, cookies: [String]? = nil
    ) {
        self.statusCode = statusCode
        self.headers = headers
        self.body = body
        self.isBase64Encoded = isBase64Encoded
        self.cookies = cookies
    }

    /// Adds a `Set-Cookie`.
    public mutating func setCookie(_ cookie: SetCookie) {
        cookies = (cookies ?? []) + [cookie.headerValue]
    }

    /// A binary answer (a file), base64-encoded in the response as API Gateway expects.
    public static func binary(_ status: Int, _ bytes: [UInt8], headers: [String: String]) -> GatewayResponse {
        GatewayResponse(statusCode: status, headers: headers, body: Data(bytes).base64EncodedString(), isBase64Encoded: true)
    }

    /// A JSON answer; identity endpoints never want their answers cached.
    public static func json<T: Encodable>(_ status: Int, _ value: T, headers: [String: String] = [:]) throws -> GatewayResponse {
        try json(status, body: try JSON.string(value), headers: headers)
    }

    /// A JSON object answer (a token endpoint's, an error), written by `JSONValue`'s own writer.
    public static func json(_ status: Int, _ object: [String: JSONValue], headers: [String: String] = [:]) throws -> GatewayResponse {
        try json(status, body: String(decoding: try JSONValue.object(object).compactJSON(), as: UTF8.self), headers: headers)
    }

    private static func json(_ status: Int, body: String, headers: [String: String]) throws -> GatewayResponse {
        var all = ["content-type": "application/json; charset=utf-8"]
        all.merge(headers) { _, new in new }
        return GatewayResponse(statusCode: status, headers: all, body: body)
    }

    /// The response as the runtime contract carries it back (API Gateway's payload format 2.0), written by hand like
    /// every answer's JSON (`JSONValue.appendCompact`).
    public func contractJSON() -> [UInt8] {
        var members: [String: JSONValue] = [
            "statusCode": .int(Int64(statusCode)), "headers": .object(headers.mapValues { .string($0) }), "body": .string(body),
            "isBase64Encoded": .bool(isBase64Encoded),
        ]
        if let cookies { members["cookies"] = .array(cookies.map { .string($0) }) }
        // Nothing here is a double: the writer cannot fail.
        return (try? JSONValue.object(members).compactJSON())
            ?? Array(#"{"statusCode":500,"headers":{},"body":"","isBase64Encoded":false}"#.utf8)
    }
}
