import FoundationEssentials

public enum Store {
    /// Opens a store from a URL:
    /// `sqlite:///abs/path.db`, `sqlite:relative/path.db`, `file:///abs/dir`, `file:relative/dir`,
    /// `postgres://user:password@host:port/db[?schema=NAME&…]` (or `postgresql://`).
    public static func open(url: String) throws -> any KeyValueStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return try PostgresStore(url: url) }
        if let path = try path(of: url, scheme: "sqlite") { return try SQLiteStore(path: path) }
        if let path = try path(of: url, scheme: "file") { return try FileStore(directory: path) }
        throw StoreError(.invalidURL, "unknown store URL '\(url)' (expected sqlite:, file: or postgres:)")
    }

    /// The filesystem path of `scheme:///abs` or `scheme:relative`, nil if the scheme differs.
    static func path(of url: String, scheme: String) throws -> String? {
        guard url.hasPrefix(scheme + ":") else { return nil }
        var rest = Substring(url.dropFirst(scheme.count + 1))
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            // Only an empty authority (or "localhost") is allowed: sqlite:///abs/path.
            if rest.hasPrefix("localhost/") { rest = rest.dropFirst("localhost".count) }
            guard rest.hasPrefix("/") else {
                throw StoreError(.invalidURL, "\(url): expected \(scheme):///absolute/path or \(scheme):relative/path")
            }
        }
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<q] }
        let path = try percentDecode(rest, url: url)
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw StoreError(.invalidURL, "\(url): empty path")
        }
        return path
    }

    private static func percentDecode(_ s: Substring, url: String) throws -> String {
        guard let decoded = String(s).percentDecoded() else {
            throw StoreError(.invalidURL, "\(url): bad percent-encoding or a path that is not UTF-8")
        }
        return decoded
    }
}
