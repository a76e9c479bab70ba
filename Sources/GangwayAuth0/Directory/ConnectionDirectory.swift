import FoundationEssentials
import GangwayPlatform

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
        try await store.listValues(Connection.self, prefix: StoreKeys.connections(tenant.id))
    }

    public func get(_ id: String) async throws -> (Connection, Int64)? {
        try await store.getJSON(Connection.self, StoreKeys.connection(tenant.id, id))
    }
}
