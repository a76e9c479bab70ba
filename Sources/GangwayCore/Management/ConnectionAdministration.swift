import FoundationEssentials

/// A tenant's connections in the store.
public struct ConnectionDirectory: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    /// Every connection, in id order (tenants have a handful).
    public func all() async throws -> [Connection] {
        try await store.list(prefix: StoreKeys.connections(tenant.id)).compactMap {
            try? JSON.decode(Connection.self, from: $0.record.value)
        }
    }

    public func get(_ id: String) async throws -> (Connection, Int64)? {
        try await store.getJSON(Connection.self, StoreKeys.connection(tenant.id, id))
    }

    public func update(_ connection: Connection, expectedVersion: Int64) async throws -> Int64? {
        try await store.compareAndSwapJSON(StoreKeys.connection(tenant.id, connection.id), expectedVersion: expectedVersion, connection)
    }
}

/// Secrets stored inside connection options are write-only: responses never carry them.
public enum SecretRedaction {
    /// Option keys (at any depth) whose values are never returned.
    public static let secretKeys: Set<String> = ["client_secret", "secret", "password"]

    /// `options` without any secret-named key, at any depth (objects inside arrays too).
    public static func redacted(_ options: [String: JSONValue]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (key, value) in options where !secretKeys.contains(key.lowercased()) {
            out[key] = redacted(value)
        }
        return out
    }

    public static func redacted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o): .object(redacted(o))
        case .array(let a): .array(a.map(redacted))
        default: value
        }
    }
}

extension Connection {
    /// The connection as Auth0's Management API returns it; secrets inside `options` are left out.
    public func managementJSON(enabledClients: [String]) -> JSONValue {
        [
            "id": .string(id), "name": .string(name), "display_name": .string(name), "strategy": .string(strategy),
            "options": .object(SecretRedaction.redacted(options)),
            "enabled_clients": .array(enabledClients.map(JSONValue.string)),
            "realms": [.string(name)], "is_domain_connection": false,
        ]
    }
}

/// The body of `PATCH /api/v2/connections/{id}`: `options`, merged shallowly into the stored options
/// (a `null` deletes a key). A secret omitted from the patch keeps its stored value, so echoing a
/// response back never loses one.
public struct ConnectionChanges: Sendable {
    public var options: [String: JSONValue]?

    public init(_ payload: Payload) throws(HTTPError) {
        try payload.allowOnly(["options"])
        options = try payload.object("options")
    }

    public func apply(to connection: inout Connection) {
        if let options { connection.options = shallowMerge(connection.options, options) }
    }
}

extension ManagementCall {
    public var connections: ConnectionDirectory { ConnectionDirectory(store: store, tenant: tenant) }

    public static let noSuchConnection = HTTPError(404, "inexistent_connection", "The connection does not exist.")

    public func connection(_ id: String?) async throws -> (Connection, Int64) {
        guard let id, !id.isEmpty, let found = try await connections.get(id) else { throw Self.noSuchConnection }
        return found
    }

    /// The tenant's applications: every one may use every connection (Gangway has no per-connection toggle yet).
    public func clientIds() async throws -> [String] {
        try await store.list(prefix: StoreKeys.applications(tenant.id)).compactMap {
            try? JSON.decode(Application.self, from: $0.record.value).clientId
        }
    }

    public func updateConnection(_ id: String?, _ changes: ConnectionChanges) async throws -> Connection {
        for _ in 0..<10 {
            var (connection, version) = try await connection(id)
            changes.apply(to: &connection)
            if try await connections.update(connection, expectedVersion: version) != nil { return connection }
        }
        throw HTTPError(409, "conflict", "The connection kept changing; try again.")
    }

    /// Connections whose strategy is one of `strategies` (comma-separated, as repeated query parameters
    /// arrive) and whose name is `name`, when given.
    public func connections(strategies: String?, name: String?) async throws -> [Connection] {
        let wanted = strategies.map { Set($0.split(separator: ",").map(String.init)) }
        return try await connections.all().filter { connection in
            (wanted?.contains(connection.strategy) ?? true) && (name == nil || connection.name == name)
        }
    }

    /// A list answer: checkpoint paging (`{connections, next?}`) when `from`/`take` were sent, else offset paging.
    public func connectionList(_ matching: [Connection], _ paging: Paging) async throws -> GatewayResponse {
        let clients = try await clientIds()
        if paging.isCheckpoint {
            let rest = matching.drop { connection in paging.from.map { connection.id <= $0 } ?? false }
            let page = rest.prefix(paging.take ?? 50)
            var body: [String: JSONValue] = ["connections": .array(page.map { $0.managementJSON(enabledClients: clients) })]
            if rest.count > page.count, let last = page.last { body["next"] = .string(last.id) }
            return try .json(200, body, headers: Management.noStore)
        }
        let page = matching.dropFirst(paging.page * paging.perPage).prefix(paging.perPage)
        return try paging.response(key: "connections", items: page.map { $0.managementJSON(enabledClients: clients) }, total: matching.count)
    }
}
