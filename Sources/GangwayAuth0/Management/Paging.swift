import FoundationEssentials
import GangwayPlatform

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

    /// An integer query parameter within `range` (Auth0's `invalid_query_string` otherwise), `value` when absent.
    public static func integer(_ request: FunctionRequest, _ name: String, default value: Int, range: ClosedRange<Int>) throws(HTTPError)
        -> Int
    {
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

    /// The answer for a list that takes either kind of paging: checkpoint paging (`from`, `take`) over `items`
    /// in ascending `id` order → `{<key>: [...], next?}` (`next`: the last id, when more follow); otherwise
    /// offset paging as `response(key:items:total:)`.
    public func response<T>(key: String, all items: [T], id: (T) -> String, json: (T) -> JSONValue) throws -> GatewayResponse {
        if isCheckpoint {
            let rest = items.drop { item in from.map { id(item) <= $0 } ?? false }
            let page = rest.prefix(take ?? 50)
            var body: [String: JSONValue] = [key: .array(page.map(json))]
            if rest.count > page.count, let last = page.last { body["next"] = .string(id(last)) }
            return try .json(200, body, headers: Management.noStore)
        }
        let page = items.dropFirst(page * perPage).prefix(perPage)
        return try response(key: key, items: page.map(json), total: items.count)
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
