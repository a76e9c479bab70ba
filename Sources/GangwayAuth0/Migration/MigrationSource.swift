import FoundationEssentials
import GangwayPlatform

/// A tenant-level migration source: an upstream Auth0 tenant whose refresh tokens Gangway redeems once and
/// replaces with its own (refresh-token re-mint). Stored under `t/<tenant>/migration-sources/<id>`; the upstream
/// `client_secret` only ever as a `SecretBox` seal bound to that key (`<key>#client_secret`).
public struct MigrationSource: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// Only `auth0` today.
    public var provider: String
    /// The local connection users created by a re-mint land on.
    public var connection: String
    public var enabled: Bool
    public var credentials: Credentials
    public var createdAt: Date
    public var updatedAt: Date

    public struct Credentials: Codable, Sendable, Equatable {
        /// As configured: `tenant.auth0.com`, `tenant.auth0.com:8443`, `https://tenant.auth0.com`, or
        /// `http://127.0.0.1:PORT` (plain http only for loopback hosts).
        public var domain: String
        public var clientId: String
        /// `gw1.…` (SecretBox); never leaves the store.
        public var clientSecretSealed: String
        /// The secret's last characters, for the operator to recognise it (only for secrets of 16+ characters).
        public var clientSecretHint: String
        /// Sent upstream with the refresh grant when set.
        public var audience: String?
        public var scope: String?
    }

    public static let providers = ["auth0"]

    public static func newId() -> String { "mgs_" + Random.identifier(length: 16) }

    /// The SecretBox context of a source's client secret: a seal copied to another record does not open.
    public static func secretContext(_ tenant: String, _ id: String) -> String {
        StoreKeys.clientSecretContext(StoreKeys.migrationSource(tenant, id))
    }

    /// Where `/oauth/token` and `/userinfo` live: `https://<domain>` for a bare host, else the URL as configured.
    public var baseURL: String { Self.baseURL(credentials.domain) }

    public static func baseURL(_ domain: String) -> String {
        domain.hasPrefix("http://") || domain.hasPrefix("https://") ? domain : "https://" + domain
    }

    /// A redacted placeholder echoed back (`***`, `…`, `••••`), as clients copying another product's
    /// responses send: never taken for a new secret.
    public static func looksMasked(_ secret: String) -> Bool {
        secret.allSatisfy { $0 == "*" || $0 == "…" || $0 == "•" || $0 == "." }
    }

    /// What a response shows of a secret: `…` plus its last 4 characters when it has 16 or more.
    public static func hint(_ secret: String) -> String { secret.count >= 16 ? "…" + secret.suffix(4) : "…" }

    /// The source as the Management API returns it: never the secret, at most its hint.
    public var managementJSON: JSONValue {
        var credentials: [String: JSONValue] = [
            "domain": .string(self.credentials.domain), "client_id": .string(self.credentials.clientId),
            "client_secret_hint": .string(self.credentials.clientSecretHint),
        ]
        credentials["audience"] = self.credentials.audience.map(JSONValue.string)
        credentials["scope"] = self.credentials.scope.map(JSONValue.string)
        return [
            "id": .string(id), "name": .string(name), "provider": .string(provider), "connection": .string(connection),
            "enabled": .bool(enabled), "credentials": .object(credentials),
            "created_at": .string(ManagementDate.string(createdAt)), "updated_at": .string(ManagementDate.string(updatedAt)),
        ]
    }

    /// Checks an upstream domain: a host (letters, digits, `-`, `.`) with an optional `:port`, optionally as an
    /// `https://` URL, or an `http://` URL of a loopback host (`127.x.x.x`, `localhost`, `[::1]`: a local fake
    /// upstream). No path, query, credentials or fragment. Returns the normalised form (no trailing `/`), or nil.
    public static func normalizedDomain(_ raw: String) -> String? {
        var rest = Substring(raw)
        var scheme: String?
        for s in ["https://", "http://"] where raw.lowercased().hasPrefix(s) {
            scheme = s
            rest = rest.dropFirst(s.count)
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, rest.count <= 253 + 6 else { return nil }
        var host = rest
        var port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.startIndex...close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                port = after.dropFirst()
            }
            guard host == "[::1]" else { return nil }  // IPv6 literals: loopback only
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let n = Int(port), (1...65535).contains(n) else {
                return nil
            }
        }
        if !host.hasPrefix("[") {
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard
                labels.allSatisfy({ label in
                    !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.allSatisfy { $0.isASCIIDigit || $0.isASCIILetter || $0 == "-" }
                })
            else { return nil }
        }
        let lowerHost = host.lowercased()
        let loopback = lowerHost == "localhost" || lowerHost == "[::1]" || lowerHost.hasPrefix("127.")
        if scheme == "http://" && !loopback { return nil }
        if scheme == nil && host.hasPrefix("[") { return nil }
        return (scheme ?? "") + lowerHost + (port.map { ":" + $0 } ?? "")
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIILetter: Bool { isASCII && isLetter }
}

/// A tenant's migration sources in the store.
public struct MigrationSources: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    /// Every source, in creation order (the order re-mint tries them in).
    public func all() async throws -> [MigrationSource] {
        try await store.listValues(MigrationSource.self, prefix: StoreKeys.migrationSources(tenant.id)).sorted {
            ($0.createdAt, $0.id) < ($1.createdAt, $1.id)
        }
    }

    public func get(_ id: String) async throws -> (MigrationSource, Int64)? {
        try await store.getJSON(MigrationSource.self, StoreKeys.migrationSource(tenant.id, id))
    }
}
