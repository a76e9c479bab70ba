import FoundationEssentials

/// An error a handler throws to answer the caller; rendered in the shape its endpoint family uses.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    /// Machine-readable code: `invalid_request`, `invalid_grant`, `insufficient_scope`, …
    public var code: String
    public var message: String
    public var headers: [String: String]
    /// Extra top-level fields some errors carry (for example `mfa_token`).
    public var extra: [String: JSONValue]

    public init(_ status: Int, _ code: String, _ message: String, headers: [String: String] = [:], extra: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func badRequest(_ message: String, code: String = "invalid_request") -> HTTPError {
        HTTPError(400, code, message)
    }
    public static func notFound(_ message: String = "Not Found", code: String = "not_found") -> HTTPError {
        HTTPError(404, code, message)
    }
}

/// The two error body shapes Auth0 uses.
public enum ErrorShape: Sendable {
    /// Authentication API: `{"error": code, "error_description": message}`.
    case oauth
    /// Management API (hapi style): `{"statusCode", "error": reason phrase, "message", "errorCode"}`.
    case management

    public func response(for error: HTTPError) -> GatewayResponse {
        var body: [String: JSONValue]
        switch self {
        case .oauth:
            body = ["error": .string(error.code), "error_description": .string(error.message)]
        case .management:
            body = [
                "statusCode": .int(Int64(error.status)), "error": .string(reasonPhrase(error.status)),
                "message": .string(error.message), "errorCode": .string(error.code),
            ]
        }
        body.merge(error.extra) { current, _ in current }
        var headers = error.headers
        headers["cache-control"] = headers["cache-control"] ?? "no-store"
        return (try? GatewayResponse.json(error.status, body, headers: headers))
            ?? GatewayResponse(statusCode: error.status, body: #"{"error":"server_error"}"#)
    }
}

public func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 409: "Conflict"
    case 413: "Request Entity Too Large"  // hapi's (Auth0's) wording, RFC 2616's name
    case 415: "Unsupported Media Type"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    default: "Error"
    }
}
