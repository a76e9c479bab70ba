import FoundationEssentials
import GangwayPlatform

/// The parameters of a token request, from a JSON or form body. Auth0's SDKs send Python `None` as JSON
/// `null` and an unused scope as `""`: both count as "not sent".
public struct TokenParameters: Sendable {
    public let values: [String: JSONValue]

    public init(_ values: [String: JSONValue]) { self.values = values }

    public init(_ request: FunctionRequest) throws(HTTPError) {
        self.init(try request.parameters())
    }

    /// The parameter as a string; nil when absent, `null` or empty. Any other JSON type is a 400.
    public func optional(_ name: String) throws(HTTPError) -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let s)?: return s.isEmpty ? nil : s
        default: throw .badRequest("Parameter \(name) must be a string.")
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
