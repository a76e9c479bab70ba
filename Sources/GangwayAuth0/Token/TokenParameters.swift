import FoundationEssentials
import GangwayPlatform

/// The parameters of a token request, from a JSON or form body. Auth0's SDKs send Python `None` as JSON
/// `null` and an unused scope as `""`: both count as "not sent".
public struct TokenParameters: Sendable {
    public let values: [String: JSONValue]

    public init(_ values: [String: JSONValue]) { self.values = values }

    /// The request's parameters, every string value checked at once (before client authentication or any lookup):
    /// see `optional(_:)` for the rules.
    public init(_ request: FunctionRequest) throws(HTTPError) {
        self.init(try request.parameters())
        for name in values.keys.sorted() {
            if case .string(let value)? = values[name] { try Self.check(name, value) }
        }
    }

    /// Longest value each parameter may have (bytes of UTF-8): identifiers end up in store keys, which are
    /// bounded, and nothing legitimate comes near these. Other parameters get `defaultMaximumLength`.
    public static let maximumLengths = [
        "grant_type": 256, "client_id": 256, "audience": 400, "realm": 128, "username": 320, "password": 1024, "scope": 4096,
    ]
    public static let defaultMaximumLength = 16 * 1024

    /// The parameter as a string; nil when absent, `null` or empty. Any other JSON type, a NUL byte or an
    /// over-long value is a 400 `invalid_request` naming the parameter.
    public func optional(_ name: String) throws(HTTPError) -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let s)?:
            try Self.check(name, s)
            return s.isEmpty ? nil : s
        default: throw .badRequest("Parameter \(name) must be a string.")
        }
    }

    /// No NUL, and within the parameter's maximum length.
    private static func check(_ name: String, _ value: String) throws(HTTPError) {
        guard !value.utf8.contains(0) else { throw .badRequest("Parameter \(name) must not contain a NUL character.") }
        guard value.utf8.count <= maximumLengths[name] ?? defaultMaximumLength else {
            throw .badRequest("Parameter \(name) is too long.")
        }
    }

    /// The parameter, or 400 `invalid_request` "Missing required parameter: <name>" (Auth0's wording).
    public func required(_ name: String) throws(HTTPError) -> String {
        guard let value = try optional(name) else { throw .badRequest("Missing required parameter: \(name)") }
        return value
    }

    /// `scope`, split on spaces, duplicates dropped, order kept; nil when not sent.
    public var scopes: [String]? {
        get throws(HTTPError) {
            guard let raw = try optional("scope") else { return nil }
            return Scopes.parse(raw)
        }
    }
}

public enum Scopes {
    /// The OpenID Connect scopes any user grant may carry whatever the audience.
    public static let oidc = ["openid", "profile", "email", "offline_access"]

    public static func parse(_ raw: String) -> [String] {
        var seen = Set<String>()
        return raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init).filter { seen.insert($0).inserted }
    }

    public static func string(_ scopes: [String]) -> String { scopes.joined(separator: " ") }
}
