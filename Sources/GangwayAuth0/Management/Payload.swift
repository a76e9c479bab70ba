import FoundationEssentials
import GangwayPlatform

/// A Management API request body, validated the way Auth0's API validates payloads: unknown properties and
/// wrong types are 400 `invalid_body` "Payload validation error: '...' on property <name>.".
public struct Payload: Sendable {
    public let fields: [String: JSONValue]

    /// The request's JSON object body; anything else is 400 `invalid_body`.
    public init(_ request: FunctionRequest) throws(HTTPError) {
        do {
            fields = try request.parameters()
        } catch let error where error.status == 400 {
            throw Payload.error("Payload validation error: 'Expected type object but found type string'.")
        }
    }

    public init(fields: [String: JSONValue]) { self.fields = fields }

    public static func error(_ message: String) -> HTTPError { HTTPError(400, "invalid_body", message) }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    static func wrongType(_ key: String, expected: String, got value: JSONValue) -> HTTPError {
        error("Payload validation error: 'Expected type \(expected) but found type \(typeName(value))' on property \(key).")
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
        switch value {
        case .null where nullable:
            return .some(nil)
        case .string(let s):
            if s.count < minLength {
                throw Self.error("Payload validation error: 'String is too short (\(s.count) chars), minimum \(minLength)' on property \(key).")
            }
            if s.count > maxLength {
                throw Self.error("Payload validation error: 'String is too long (\(s.count) chars), maximum \(maxLength)' on property \(key).")
            }
            return .some(s)
        default:
            throw Self.wrongType(key, expected: "string", got: value)
        }
    }

    public func bool(_ key: String) throws(HTTPError) -> Bool? {
        guard let value = fields[key] else { return nil }
        guard case .bool(let b) = value else { throw Self.wrongType(key, expected: "boolean", got: value) }
        return b
    }

    public func object(_ key: String) throws(HTTPError) -> [String: JSONValue]? {
        guard let value = fields[key] else { return nil }
        guard case .object(let o) = value else { throw Self.wrongType(key, expected: "object", got: value) }
        return o
    }

    /// A minimal email check (one `@`, non-empty local part and a dotted-or-not domain, no spaces).
    public static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return !s.contains(where: { $0.isWhitespace || $0.isNewline }) && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
    }
}

/// Shallow merge as Auth0 does for `user_metadata`/`app_metadata` (and Gangway for connection `options`):
/// top-level keys replace, a `null` value deletes the key.
public func shallowMerge(_ base: [String: JSONValue], _ patch: [String: JSONValue]) -> [String: JSONValue] {
    var result = base
    for (key, value) in patch {
        if value.isNull { result[key] = nil } else { result[key] = value }
    }
    return result
}

/// Auth0's timestamps: ISO-8601, UTC, milliseconds, `Z` (`2024-01-02T03:04:05.678Z`).
public enum ManagementDate {
    public static func string(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }
}

/// Query parameters of list endpoints: `page` (from 0), `per_page` (1...100, default 50), `include_totals`;
/// checkpoint paging (`from`, `take`) where an endpoint supports it.
public struct Paging: Sendable {
    public var page: Int
    public var perPage: Int
    public var includeTotals: Bool
    public var from: String?
    public var take: Int?

    public static let maxPerPage = 100

    public init(_ request: FunctionRequest, defaultPerPage: Int = 50) throws(HTTPError) {
        page = try Self.integer(request, "page", default: 0, range: 0...1_000_000)
        perPage = try Self.integer(request, "per_page", default: defaultPerPage, range: 1...Self.maxPerPage)
        includeTotals = try Self.boolean(request, "include_totals") ?? false
        from = request.query("from").flatMap { $0.isEmpty ? nil : $0 }
        take = request.query("take") == nil ? nil : try Self.integer(request, "take", default: 50, range: 1...Self.maxPerPage)
    }

    /// 400 for a query parameter Gangway does not implement, where ignoring it would answer a different
    /// question than the one asked (a search `q` silently ignored would list every user).
    public static func rejectUnsupported(_ request: FunctionRequest, _ names: [String]) throws(HTTPError) {
        for name in names where request.query(name).map({ !$0.isEmpty }) ?? false {
            throw queryError("Query validation error: '\(name)' is not supported.")
        }
    }

    /// Checkpoint paging was asked for (`from` or `take`).
    public var isCheckpoint: Bool { from != nil || take != nil }

    public static func queryError(_ message: String) -> HTTPError { HTTPError(400, "invalid_query_string", message) }

    static func integer(_ request: FunctionRequest, _ name: String, default value: Int, range: ClosedRange<Int>) throws(HTTPError) -> Int {
        guard let raw = request.query(name), !raw.isEmpty else { return value }
        guard let n = Int(raw) else {
            throw queryError("Query validation error: 'Expected type integer but found type string' on property \(name).")
        }
        if n < range.lowerBound {
            throw queryError("Query validation error: 'Value \(n) is less than minimum \(range.lowerBound)' on property \(name).")
        }
        if n > range.upperBound {
            throw queryError("Query validation error: 'Value \(n) is greater than maximum \(range.upperBound)' on property \(name).")
        }
        return n
    }

    public static func boolean(_ request: FunctionRequest, _ name: String) throws(HTTPError) -> Bool? {
        guard let raw = request.query(name), !raw.isEmpty else { return nil }
        switch raw.lowercased() {
        case "true": return true
        case "false": return false
        default: throw queryError("Query validation error: 'Expected type boolean but found type string' on property \(name).")
        }
    }

    /// The answer for an offset-paged list: an array, or `{<key>: [...], start, limit, length, total}` with `include_totals`.
    public func response(key: String, items: [JSONValue], total: Int) throws -> GatewayResponse {
        guard includeTotals else { return try .json(200, JSONValue.array(items), headers: Management.noStore) }
        let body: JSONValue = [
            key: .array(items), "start": .int(Int64(page * perPage)), "limit": .int(Int64(perPage)),
            "length": .int(Int64(items.count)), "total": .int(Int64(total)),
        ]
        return try .json(200, body, headers: Management.noStore)
    }
}

/// Collects one page of a store prefix in key order while counting everything under it.
public struct PageCollector<Item> {
    public let start: Int
    public let count: Int
    public private(set) var items: [Item] = []
    public private(set) var total = 0

    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }

    public mutating func add(_ make: () throws -> Item?) rethrows {
        if total >= start && total < start + count, let item = try make() { items.append(item) }
        total += 1
    }
}

public enum Management {
    public static let noStore = ["cache-control": "no-store"]
}
