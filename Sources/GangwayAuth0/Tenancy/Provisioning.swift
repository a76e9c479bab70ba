import FoundationEssentials
import GangwayPlatform

/// Creates a tenant with everything a new user needs: a signing key, a first-party application,
/// a machine-to-machine application for the Management API, and the default database connection.
/// Idempotent: a second run finds the tenant by its issuer's host and creates nothing.
public struct Provisioning: Sendable {
    public let store: any KeyValueStore
    /// Seals the new tenant's private signing key (GANGWAY_SECRET_KEY).
    public let secrets: SecretBox
    public init(store: any KeyValueStore, secrets: SecretBox) {
        self.store = store
        self.secrets = secrets
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidIssuer(String)
        /// Another `init` claimed the host, yet its tenant cannot be read.
        case lostRace(String)
        /// The host already selects another tenant.
        case domainTaken(String)

        public var description: String {
            switch self {
            case .invalidIssuer(let issuer): "Issuer must be an http(s) URL, got \(issuer)."
            case .lostRace(let host): "Tenant initialisation for \(host) raced and lost."
            case .domainTaken(let host): "The host \(host) already selects another tenant."
            }
        }
    }

    public struct Result: Codable, Sendable {
        public struct Credentials: Codable, Sendable {
            public var clientId: String
            /// Shown when created (stored as a hash, and sealed for `read:client_keys` tokens). Nil on later runs.
            public var clientSecret: String?
            public var audience: String?

            enum CodingKeys: String, CodingKey {
                case clientId = "client_id"
                case clientSecret = "client_secret"
                case audience
            }
        }
        public struct ConnectionRef: Codable, Sendable {
            public var id: String
            public var name: String
        }
        public var created: Bool
        public var tenant: String
        public var issuer: String
        public var app: Credentials
        public var management: Credentials
        public var connection: ConnectionRef
    }

    /// The Management API scopes the machine-to-machine application is granted.
    public static let managementScopes = [
        "read:users", "create:users", "update:users", "delete:users",
        "read:clients", "create:clients", "update:clients", "delete:clients",
        "read:client_keys", "create:client_keys", "update:client_keys",
        "read:connections", "update:connections",
        "read:migration_sources", "create:migration_sources", "update:migration_sources", "delete:migration_sources",
        "read:migration_report",
        "read:logs",
        "read:resource_servers", "create:resource_servers", "update:resource_servers", "delete:resource_servers",
        "read:client_grants", "create:client_grants", "update:client_grants", "delete:client_grants",
    ]

    /// Every scope the Management API defines: what its resource server lists, whatever its stored record says
    /// (the system API's scopes are Gangway's, as Auth0's are Auth0's).
    public static var managementAPIScopes: [String] { managementScopes + currentUserScopes }

    /// Scopes a user's own token may carry at the Management API (Auth0's `*:current_user*` scopes);
    /// user grants never get any other Management API scope.
    public static let currentUserScopes = [
        "read:current_user", "update:current_user_identities", "update:current_user_metadata",
        "create:current_user_metadata", "delete:current_user_metadata",
    ]

    public func initialize(issuer rawIssuer: String, aliases: [String] = []) async throws -> Result {
        guard let issuer = Tenant.normalizedIssuer(rawIssuer) else {
            throw Failure.invalidIssuer(rawIssuer)
        }
        let host = Tenant.host(ofIssuer: issuer)
        if let existing = try await TenantDirectory(store: store).tenant(host: host) {
            return try await describe(try await addDomains(aliases, to: existing))
        }

        let tenantId = "ten_" + Random.identifier(length: 16)
        var tenant = Tenant(
            id: tenantId, issuer: issuer, domains: [host] + aliases.map { $0.lowercased() },
            defaultConnection: Connection.defaultName, settings: .init(), createdAt: .now
        )
        tenant.domains = Array(Set(tenant.domains)).sorted()

        // Two ordinary applications (the Management API's /api/v2/clients shows and changes them like any other).
        let appSecret = ApplicationDirectory.newSecret()
        let app = Application(
            clientId: Random.identifier(length: 32), name: "Default App", kind: .regularWeb, secretHash: nil,
            grantTypes: [.password, .passwordRealm, .refreshToken, .authorizationCode], createdAt: .now
        )
        let m2mSecret = ApplicationDirectory.newSecret()
        let m2m = Application(
            clientId: Random.identifier(length: 32), name: "Management API (Test Application)", kind: .machineToMachine,
            secretHash: nil, grantTypes: [.clientCredentials], createdAt: .now
        )
        let connection = Connection(
            id: "con_" + Random.identifier(length: 16), name: Connection.defaultName, strategy: .database,
            options: ["import_mode": false], createdAt: .now
        )
        let management = ResourceServer(
            id: ResourceServer.newId(), identifier: tenant.managementAudience, name: ResourceServers.systemName,
            scopes: Self.managementAPIScopes.map { ResourceServer.Scope(value: $0) }
        )

        // Records first, domain claims last: until a domain points at the tenant nobody can reach it,
        // so a crash half-way leaves no half-built tenant visible.
        try await store.putJSON(
            StoreKeys.signingKeys(tenantId),
            SigningKeySet(keys: [SigningKeySet.newKey(sealedWith: KeyRing.sealer(secrets, tenant: tenantId))]))
        let applications = ApplicationDirectory(store: store, tenant: tenant, secrets: secrets)
        try await applications.create(app, secret: appSecret)
        try await applications.create(m2m, secret: m2mSecret)
        try await store.putJSON(StoreKeys.connection(tenantId, connection.id), connection)
        try await store.putJSON(StoreKeys.resourceServer(tenantId, management.identifier), management)
        try await store.putJSON(
            StoreKeys.clientGrant(tenantId, m2m.clientId, management.identifier),
            ClientGrant(id: ClientGrant.newId(), clientId: m2m.clientId, audience: management.identifier, scope: Self.managementScopes)
        )
        try await store.putJSON(StoreKeys.tenant(tenantId), tenant)
        guard try await store.insertJSONIfAbsent(StoreKeys.domain(host), tenantId) else {
            // Another `init` won the race for this host: report its tenant instead.
            guard let winner = try await TenantDirectory(store: store).tenant(host: host) else {
                throw Failure.lostRace(host)
            }
            return try await describe(winner)
        }
        for alias in tenant.domains where alias != host {
            _ = try await store.insertJSONIfAbsent(StoreKeys.domain(alias), tenantId)
        }
        return Result(
            created: true, tenant: tenantId, issuer: issuer,
            app: .init(clientId: app.clientId, clientSecret: appSecret, audience: nil),
            management: .init(clientId: m2m.clientId, clientSecret: m2mSecret, audience: management.identifier),
            connection: .init(id: connection.id, name: connection.name)
        )
    }

    /// Points more hosts at an existing tenant (`init --domain`, `serve` on another port): each host is claimed
    /// for the tenant, then listed in its `domains`. A host another tenant holds is refused, never moved.
    public func addDomains(_ aliases: [String], to tenant: Tenant) async throws -> Tenant {
        let wanted = Set(aliases.map { $0.lowercased() }).subtracting(tenant.domains).sorted()
        guard !wanted.isEmpty else { return tenant }
        for host in wanted {
            if try await store.insertJSONIfAbsent(StoreKeys.domain(host), tenant.id) { continue }
            guard let (owner, _) = try await store.getJSON(String.self, StoreKeys.domain(host)), owner == tenant.id else {
                throw Failure.domainTaken(host)
            }
        }
        return try await store.update(Tenant.self, at: StoreKeys.tenant(tenant.id)) { stored in
            guard var current = stored else { throw Failure.lostRace(tenant.issuer) }
            current.domains = Array(Set(current.domains).union(wanted)).sorted()
            stored = current
            return current
        }
    }

    /// The same summary for an existing tenant, without secrets (only their hashes exist).
    func describe(_ tenant: Tenant) async throws -> Result {
        let apps = try await store.listValues(Application.self, prefix: StoreKeys.applications(tenant.id))
        let connections = try await store.listValues(Connection.self, prefix: StoreKeys.connections(tenant.id))
        let app = apps.sorted { $0.createdAt < $1.createdAt }.first { $0.kind != .machineToMachine }
        let m2m = apps.sorted { $0.createdAt < $1.createdAt }.first { $0.kind == .machineToMachine }
        let connection = connections.first { $0.name == tenant.defaultConnection }
        return Result(
            created: false, tenant: tenant.id, issuer: tenant.issuer,
            app: .init(clientId: app?.clientId ?? "", clientSecret: nil, audience: nil),
            management: .init(clientId: m2m?.clientId ?? "", clientSecret: nil, audience: tenant.managementAudience),
            connection: .init(id: connection?.id ?? "", name: connection?.name ?? tenant.defaultConnection)
        )
    }
}
