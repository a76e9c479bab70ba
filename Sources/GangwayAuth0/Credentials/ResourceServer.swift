import FoundationEssentials
import GangwayPlatform

/// An API (Auth0 "resource server") tokens can be issued for: its audience (`identifier`), the scopes it
/// defines and the settings `/oauth/token` reads. Stored under `StoreKeys.resourceServer(tenant, identifier)`.
///
/// Stores written before `/api/v2/resource-servers` existed hold `{identifier, name, scopes: [String]}`: they
/// decode (scopes as bare values, every setting at its default, an `id` derived from the identifier).
public struct ResourceServer: Codable, Sendable, Equatable {
    public struct Scope: Codable, Sendable, Equatable {
        public var value: String
        public var description: String?
        public init(value: String, description: String? = nil) {
            self.value = value
            self.description = description
        }
    }

    /// Auth0-style: 24 lower-case hex digits.
    public var id: String
    /// The audience: immutable once created.
    public var identifier: String
    public var name: String
    public var scopes: [Scope]
    /// Always `RS256` (the tenant's signing key); kept so the Management API can answer it.
    public var signingAlg: String
    /// Access-token lifetime (seconds) at this API; nil: the tenant's `accessTokenLifetime`.
    public var tokenLifetime: Int?
    /// Stored and answered only: Gangway has no implicit or hybrid flow, the only ones it would apply to.
    public var tokenLifetimeForWeb: Int?
    /// Whether a user grant for this API may get a refresh token (`offline_access`).
    public var allowOfflineAccess: Bool
    /// Stored and answered only: Gangway shows no consent screen.
    public var skipConsentForVerifiableFirstPartyClients: Bool

    public static let signingAlgorithms = ["RS256"]
    /// What `token_lifetime_for_web` answers when never set (Auth0's default).
    public static let defaultTokenLifetimeForWeb = 7200

    public init(
        id: String? = nil, identifier: String, name: String, scopes: [Scope], signingAlg: String = "RS256", tokenLifetime: Int? = nil,
        tokenLifetimeForWeb: Int? = nil, allowOfflineAccess: Bool = false, skipConsentForVerifiableFirstPartyClients: Bool = false
    ) {
        self.id = id ?? Self.legacyId(identifier)
        self.identifier = identifier
        self.name = name
        self.scopes = scopes
        self.signingAlg = signingAlg
        self.tokenLifetime = tokenLifetime
        self.tokenLifetimeForWeb = tokenLifetimeForWeb
        self.allowOfflineAccess = allowOfflineAccess
        self.skipConsentForVerifiableFirstPartyClients = skipConsentForVerifiableFirstPartyClients
    }

    /// The scope values the API defines.
    public var scopeValues: [String] { scopes.map(\.value) }

    public static func newId() -> String { Digest.hex(Random.bytes(12)) }

    /// The id of a record stored before ids existed: derived from its identifier, so it is the same on every read.
    public static func legacyId(_ identifier: String) -> String { String(Digest.sha256Hex("resource-server\n" + identifier).prefix(24)) }

    enum CodingKeys: String, CodingKey {
        case id, identifier, name, scopes, signingAlg, tokenLifetime, tokenLifetimeForWeb, allowOfflineAccess
        case skipConsentForVerifiableFirstPartyClients
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        identifier = try c.decode(String.self, forKey: .identifier)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? Self.legacyId(identifier)
        name = try c.decode(String.self, forKey: .name)
        // Old records: bare scope values.
        if let values = try? c.decode([String].self, forKey: .scopes) {
            scopes = values.map { Scope(value: $0) }
        } else {
            scopes = try c.decodeIfPresent([Scope].self, forKey: .scopes) ?? []
        }
        signingAlg = try c.decodeIfPresent(String.self, forKey: .signingAlg) ?? "RS256"
        tokenLifetime = try c.decodeIfPresent(Int.self, forKey: .tokenLifetime)
        tokenLifetimeForWeb = try c.decodeIfPresent(Int.self, forKey: .tokenLifetimeForWeb)
        allowOfflineAccess = try c.decodeIfPresent(Bool.self, forKey: .allowOfflineAccess) ?? false
        skipConsentForVerifiableFirstPartyClients =
            try c.decodeIfPresent(Bool.self, forKey: .skipConsentForVerifiableFirstPartyClients) ?? false
    }
}

/// What a machine-to-machine application may ask for at one audience. Stored under
/// `StoreKeys.clientGrant(tenant, clientId, audience)`: one grant per (client, audience) pair.
/// Records written before grants had ids decode with an id derived from that pair.
public struct ClientGrant: Codable, Sendable, Equatable {
    /// `cgr_` and 16 characters.
    public var id: String
    public var clientId: String
    public var audience: String
    public var scope: [String]

    public init(id: String? = nil, clientId: String, audience: String, scope: [String]) {
        self.id = id ?? Self.legacyId(clientId: clientId, audience: audience)
        self.clientId = clientId
        self.audience = audience
        self.scope = scope
    }

    public static func newId() -> String { "cgr_" + Random.identifier(length: 16) }

    public static func legacyId(clientId: String, audience: String) -> String {
        "cgr_" + Digest.sha256Hex("client-grant\n" + clientId + "\n" + audience).prefix(16)
    }

    enum CodingKeys: String, CodingKey { case id, clientId, audience, scope }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clientId = try c.decode(String.self, forKey: .clientId)
        audience = try c.decode(String.self, forKey: .audience)
        scope = try c.decode([String].self, forKey: .scope)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? Self.legacyId(clientId: clientId, audience: audience)
    }
}

/// A tenant's APIs in the store. The Management API (`<issuer>api/v2/`, made by `gangway init`) is the system
/// API (Auth0's `is_system: true`): its scopes are always Gangway's Management API scopes.
public struct ResourceServers: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public static let systemName = "Auth0 Management API"

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    public func isSystem(_ api: ResourceServer) -> Bool { api.identifier == tenant.managementAudience }

    func overlaid(_ api: ResourceServer) -> ResourceServer {
        guard isSystem(api) else { return api }
        var system = api
        let described = Dictionary(api.scopes.map { ($0.value, $0) }, uniquingKeysWith: { first, _ in first })
        system.scopes = Provisioning.managementAPIScopes.map { described[$0] ?? ResourceServer.Scope(value: $0) }
        return system
    }

    /// The API whose audience is `identifier`, with its version.
    public func get(identifier: String) async throws -> (ResourceServer, Int64)? {
        guard let (api, version) = try await store.getJSON(ResourceServer.self, StoreKeys.resourceServer(tenant.id, identifier)) else {
            return nil
        }
        return (overlaid(api), version)
    }

    /// An API by its `id` or by its identifier, as Auth0's `/resource-servers/{id}` accepts either.
    public func find(_ idOrIdentifier: String) async throws -> (ResourceServer, Int64)? {
        if let found = try await get(identifier: idOrIdentifier) { return found }
        return try await store.listAllJSON(ResourceServer.self, prefix: StoreKeys.resourceServers(tenant.id))
            .first { $0.value.id == idOrIdentifier }.map { (overlaid($0.value), $0.version) }
    }

    /// Every API, in identifier order.
    public func all() async throws -> [ResourceServer] {
        try await store.listAllJSON(ResourceServer.self, prefix: StoreKeys.resourceServers(tenant.id)).map { overlaid($0.value) }
    }
}

/// A tenant's client grants in the store (one per client and audience, `StoreKeys.clientGrant`).
public struct ClientGrants: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    /// The grants (with their keys and versions), optionally only one client's or one audience's, in id order.
    public func all(clientId: String? = nil, audience: String? = nil) async throws -> [StoredValue<ClientGrant>] {
        try await store.listAllJSON(ClientGrant.self, prefix: StoreKeys.clientGrants(tenant.id, clientId: clientId))
            .filter { audience == nil || $0.value.audience == audience }
            .sorted { $0.value.id < $1.value.id }
    }

    /// Batch operations deleting those grants at the versions read now: the part of a client's or an API's
    /// deletion that takes its grants with it (the batch fails if a grant changed meanwhile).
    public func deletions(clientId: String? = nil, audience: String? = nil) async throws -> [StoreOperation] {
        try await all(clientId: clientId, audience: audience).map { .delete($0.key, expectedVersion: $0.version) }
    }
}
