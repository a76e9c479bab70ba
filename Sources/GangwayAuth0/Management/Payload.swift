import FoundationEssentials
import GangwayPlatform

/// A Management API request body, validated the way Auth0's API validates payloads: unknown properties and
/// wrong types are 400 `invalid_body` "Payload validation error: '...' on property <name>.".
public struct Payload: Sendable {
    public let fields: [String: JSONValue]

    /// The request's JSON object body; anything else is 400 `invalid_body`. Every Management API body is
    /// required: none at all (a body-less PATCH) is refused as Auth0 refuses it, not taken for an empty change.
    public init(_ request: FunctionRequest) throws(HTTPError) {
        guard let body = request.event.body, !body.isEmpty else {
            throw Payload.error("Payload validation error: 'Expected type object but found type null'.")
        }
        do {
            fields = try request.parameters()
        } catch let error where error.status == 400 {
            throw Payload.error("Payload validation error: 'Expected type object but found type string'.")
        }
    }

    public init(fields: [String: JSONValue]) { self.fields = fields }

    public static func error(_ message: String) -> HTTPError { HTTPError(400, "invalid_body", message) }

    static func wrongType(_ key: String, expected: String, got value: JSONValue) -> HTTPError {
        error("Payload validation error: 'Expected type \(expected) but found type \(value.typeName)' on property \(key).")
    }

    /// 400 naming the first property not in `allowed` (sorted, so the answer is stable).
    public func allowOnly(_ allowed: Set<String>) throws(HTTPError) {
        if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Self.error("Payload validation error: 'Additional properties not allowed: \(extra)'.")
        }
    }

    public func has(_ key: String) -> Bool { fields[key] != nil }

    public func require(_ key: String) throws(HTTPError) {
        guard let value = fields[key], !value.isNull else {
            throw Self.error("Payload validation error: 'Missing required property: \(key)'.")
        }
    }

    /// A string property: nil when absent; `.null` is allowed only when `nullable` (then `.some(nil)`).
    public func string(_ key: String, nullable: Bool = false, minLength: Int = 1, maxLength: Int = 1024) throws(HTTPError) -> String?? {
        guard let value = fields[key] else { return nil }
        if case .null = value, nullable { return .some(nil) }
        return .some(try Self.string(value, named: key, minLength: minLength, maxLength: maxLength))
    }

    /// One JSON value that must be a string of `minLength...maxLength` characters without NUL; `name` says where it
    /// is (`callbacks[2]`, `client_metadata.team`) in the 400.
    static func string(_ value: JSONValue, named name: String, minLength: Int = 1, maxLength: Int = 1024) throws(HTTPError) -> String {
        guard case .string(let s) = value else { throw wrongType(name, expected: "string", got: value) }
        if s.utf8.contains(0) {
            throw error("Payload validation error: 'String must not contain a NUL character' on property \(name).")
        }
        if s.count < minLength {
            throw error("Payload validation error: 'String is too short (\(s.count) chars), minimum \(minLength)' on property \(name).")
        }
        if s.count > maxLength {
            throw error("Payload validation error: 'String is too long (\(s.count) chars), maximum \(maxLength)' on property \(name).")
        }
        return s
    }

    public func bool(_ key: String) throws(HTTPError) -> Bool? {
        guard let value = fields[key] else { return nil }
        guard case .bool(let b) = value else { throw Self.wrongType(key, expected: "boolean", got: value) }
        return b
    }

    /// An integer property within `range`: nil when absent. `10.0` is an integer, as JSON Schema counts them.
    public func integer(_ key: String, range: ClosedRange<Int>) throws(HTTPError) -> Int? {
        guard let value = fields[key] else { return nil }
        guard let n = value.intValue else { throw Self.wrongType(key, expected: "integer", got: value) }
        if n < Int64(range.lowerBound) {
            throw Self.error("Payload validation error: 'Value \(n) is less than minimum \(range.lowerBound)' on property \(key).")
        }
        if n > Int64(range.upperBound) {
            throw Self.error("Payload validation error: 'Value \(n) is greater than maximum \(range.upperBound)' on property \(key).")
        }
        return Int(n)
    }

    /// An array property of at most `maxItems` items: nil when absent.
    public func array(_ key: String, maxItems: Int) throws(HTTPError) -> [JSONValue]? {
        guard let value = fields[key] else { return nil }
        guard case .array(let items) = value else { throw Self.wrongType(key, expected: "array", got: value) }
        if items.count > maxItems {
            throw Self.error("Payload validation error: 'Array is too long (\(items.count)), maximum \(maxItems)' on property \(key).")
        }
        return items
    }

    /// An array of strings, each within `maxLength` and made of visible ASCII only (no spaces): scope values.
    public func scopeValues(_ key: String, maxItems: Int = 1000, maxLength: Int = 280) throws(HTTPError) -> [String]? {
        guard let items = try array(key, maxItems: maxItems) else { return nil }
        var values: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.stringValue else { throw Self.wrongType("\(key)[\(i)]", expected: "string", got: item) }
            try Self.requireToken(s, "\(key)[\(i)]", maxLength: maxLength)
            values.append(s)
        }
        return values
    }

    /// 400 unless `s` is 1…`maxLength` visible ASCII characters (`!`…`~`): identifiers and scope values,
    /// which travel space-separated in `scope` strings and percent-encoded in paths.
    public static func requireToken(_ s: String, _ key: String, maxLength: Int) throws(HTTPError) {
        if s.isEmpty || s.utf8.count > maxLength || !s.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            throw error(
                "Payload validation error: 'Expected 1 to \(maxLength) visible ASCII characters (no spaces)' on property \(key).")
        }
    }

    public func object(_ key: String) throws(HTTPError) -> [String: JSONValue]? {
        guard let value = fields[key] else { return nil }
        guard case .object(let o) = value else { throw Self.wrongType(key, expected: "object", got: value) }
        return o
    }

    /// An array of strings (each 1…`maxLength` characters, no NUL), at most `maxCount` of them; nil when absent.
    public func strings(_ key: String, maxCount: Int = 100, maxLength: Int = 2048) throws(HTTPError) -> [String]? {
        guard let items = try array(key, maxItems: maxCount) else { return nil }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            strings.append(try Self.string(item, named: "\(key)[\(index)]", maxLength: maxLength))
        }
        return strings
    }

    /// A string that must be one of `allowed`; nil when absent.
    public func oneOf(_ key: String, _ allowed: [String]) throws(HTTPError) -> String? {
        guard let value = try string(key) ?? nil else { return nil }
        guard allowed.contains(value) else {
            throw Self.error(
                "Payload validation error: 'No enum match for: \"\(value)\"' on property \(key) (allowed: \(allowed.joined(separator: ", ")))."
            )
        }
        return value
    }

    /// A minimal email check (one `@`, non-empty local part and a dotted-or-not domain, no spaces).
    public static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return !s.contains(where: { $0.isWhitespace || $0.isNewline }) && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
    }
}
