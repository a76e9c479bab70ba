import FoundationEssentials
import GangwayPlatform

/// A tenant's users as an export file: Auth0's `users-exports` formats (NDJSON or CSV of chosen fields) for the
/// export job and `gangway users export`, or Auth0's *import* schema with each user's password hash for
/// `gangway users export --with-password-hashes` (so a tenant can leave Gangway the way it came).
public struct UserExport: Sendable {
    public enum Format: String, Sendable { case json, csv }

    public let store: any KeyValueStore
    public let tenant: Tenant
    public let format: Format
    /// The fields to write (nil: Auth0's default set); dotted paths with array indexes (`identities[0].connection`).
    public let fields: [Job.ExportField]?

    public init(store: any KeyValueStore, tenant: Tenant, format: Format, fields: [Job.ExportField]?) {
        self.store = store
        self.tenant = tenant
        self.format = format
        self.fields = fields
    }

    /// Auth0's default export fields (when the job names none).
    public static let defaultFields: [Job.ExportField] = [
        "user_id", "email", "email_verified", "username", "name", "nickname", "given_name", "family_name", "picture", "created_at",
        "updated_at", "last_login", "logins_count", "blocked", "identities[0].connection",
    ].map { Job.ExportField(name: $0) }

    /// CSV files hold at most 30 fields, as on Auth0.
    public static let maxCSVFields = 30

    /// Walks the users (of one connection when named, at most `limit`) and hands each line to `write`.
    /// The CSV header comes first.
    /// Writes each exported user as one line. `pendingOnly`: only users who cannot log in without the old tenant
    /// (no password hash of their own, none imported): the list for a final password-reset campaign.
    public func lines(connection: String?, limit: Int?, pendingOnly: Bool = false, _ write: (String) throws -> Void) async throws -> Int {
        let chosen = fields ?? Self.defaultFields
        if format == .csv { try write(chosen.map { Self.csvCell(.string($0.exportAs ?? $0.name)) }.joined(separator: ",")) }
        let directory = UserDirectory(store: store, tenant: tenant)
        var after: String?
        var count = 0
        while true {
            let page = try await directory.list(after: after, limit: 500)
            for user in page where (connection == nil || user.connection == connection) && (!pendingOnly || user.isPending) {
                if let limit, count >= limit { return count }
                let view = user.managementJSON
                switch format {
                case .json:
                    var out: [String: JSONValue] = [:]
                    for field in chosen { out[field.exportAs ?? field.name] = Self.value(at: field.name, in: view) ?? .null }
                    try write(try JSON.string(JSONValue.object(out)))
                case .csv:
                    try write(chosen.map { Self.csvCell(Self.value(at: $0.name, in: view) ?? .null) }.joined(separator: ","))
                }
                count += 1
            }
            guard page.count == 500, let last = page.last else { return count }
            after = last.userId
        }
    }

    /// The whole export, gzipped, and how many users it holds.
    public func gzipped(connection: String?, limit: Int?) async throws -> (bytes: [UInt8], users: Int) {
        let gzip = try Gzip()
        let users = try await lines(connection: connection, limit: limit) { line in
            try gzip.append(Array((line + "\n").utf8))
        }
        return (try gzip.finish(), users)
    }

    /// The value at a dotted path (`app_metadata.plan`, `identities[0].connection`), nil when absent.
    static func value(at path: String, in root: JSONValue) -> JSONValue? {
        var current: JSONValue? = root
        for part in path.split(separator: ".") {
            var name = Substring(part)
            var index: Int?
            if let open = part.firstIndex(of: "["), part.hasSuffix("]") {
                name = part[..<open]
                index = Int(part[part.index(after: open)..<part.index(before: part.endIndex)])
                guard index != nil else { return nil }
            }
            if !name.isEmpty { current = current?[String(name)] }
            if let index {
                guard let items = current?.arrayValue, items.indices.contains(index) else { return nil }
                current = items[index]
            }
        }
        return current
    }

    /// One CSV cell as Auth0 writes it: quoted, quotes doubled, and a leading `'` before `=`, `+`, `-`, `@`, tab
    /// or carriage return so that a spreadsheet never runs a cell as a formula (CSV injection).
    static func csvCell(_ value: JSONValue) -> String {
        var text: String
        switch value {
        case .null: return ""
        case .string(let s): text = s
        case .bool(let b): text = b ? "true" : "false"
        case .int(let i): text = String(i)
        case .double(let d): text = String(d)
        case .array, .object: text = (try? JSON.string(value)) ?? ""
        }
        if let first = text.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { text = "'" + text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }
}

extension User {
    /// The user in Auth0's import schema, with its password hash: a bcrypt `password_hash`, or the
    /// `custom_password_hash` it was imported with and has not logged in with yet. For the operator's CLI only.
    public var importJSON: JSONValue {
        var out: [String: JSONValue] = [
            "email_verified": .bool(emailVerified), "blocked": .bool(blocked), "app_metadata": .object(appMetadata),
            "user_metadata": .object(userMetadata),
        ]
        out.merge(profileFields) { _, profile in profile }
        // Auth0 prefixes the strategy at import: give the id without it so that it comes back unchanged.
        out["user_id"] = .string(userId.hasPrefix("auth0|") ? String(userId.dropFirst(6)) : userId)
        if let passwordHash {
            out["password_hash"] = .string(passwordHash)
        } else if let importedPasswordHash {
            out["custom_password_hash"] = importedPasswordHash.json
        }
        return .object(out)
    }
}
