import FoundationEssentials
import GangwayPlatform

/// The body of `POST` and `PATCH /api/v2/migration-sources…`, validated (400 `invalid_body` naming the field,
/// nested ones as `credentials.<field>`). A PATCH is a true partial update: what it omits stays as it is.
public struct MigrationSourceInput: Sendable {
    public var name: String?
    public var provider: String?
    public var connection: String?
    public var enabled: Bool?
    public var domain: String?
    public var clientId: String?
    /// A new secret; nil when omitted or when the body echoes the stored secret's hint.
    public var clientSecret: String?
    /// `.some(nil)`: delete (JSON null).
    public var audience: String??
    public var scope: String??

    static let fields: Set<String> = ["name", "provider", "connection", "enabled", "credentials"]
    static let credentialFields: Set<String> = ["domain", "client_id", "client_secret", "client_secret_hint", "audience", "scope"]

    public init(_ payload: Payload, creating: Bool) throws(HTTPError) {
        try payload.allowOnly(Self.fields)
        if creating {
            try payload.require("name")
            try payload.require("credentials")
        }
        name = try payload.string("name", maxLength: 128) ?? nil
        provider = try payload.string("provider") ?? nil
        if let provider, !MigrationSource.providers.contains(provider) {
            throw Payload.error(
                "Payload validation error: 'Invalid value \"\(provider)\", expected one of: \(MigrationSource.providers.joined(separator: ", "))' on property provider."
            )
        }
        connection = try payload.string("connection", maxLength: 128) ?? nil
        enabled = try payload.bool("enabled")

        guard let credentials = try payload.object("credentials") else { return }
        // Nested properties are validated under their dotted names, so messages name `credentials.domain`.
        let nested = Payload(fields: Dictionary(uniqueKeysWithValues: credentials.map { ("credentials." + $0.key, $0.value) }))
        try nested.allowOnly(Set(Self.credentialFields.map { "credentials." + $0 }))
        if creating {
            for field in ["domain", "client_id", "client_secret"] { try nested.require("credentials." + field) }
        }
        if let raw = try nested.string("credentials.domain", maxLength: 300) ?? nil {
            guard let domain = MigrationSource.normalizedDomain(raw) else {
                throw Payload.error(
                    "Payload validation error: 'Expected a host[:port], an https:// URL, or an http:// URL of a loopback host' on property credentials.domain."
                )
            }
            self.domain = domain
        }
        clientId = try nested.string("credentials.client_id", maxLength: 256) ?? nil
        clientSecret = try nested.string("credentials.client_secret", maxLength: 1024) ?? nil
        _ = try nested.string("credentials.client_secret_hint")  // echoed back from a response: ignored
        audience = try nested.string("credentials.audience", nullable: true, maxLength: 1024)
        scope = try nested.string("credentials.scope", nullable: true, maxLength: 1024)
    }
}

extension ManagementCall {
    public var migrationSources: MigrationSources { MigrationSources(store: store, tenant: tenant) }

    public static let noSuchMigrationSource = HTTPError(404, "inexistent_migration_source", "The migration source does not exist.")

    public func migrationSource(_ id: String?) async throws -> (MigrationSource, Int64) {
        guard let id, !id.isEmpty, let found = try await migrationSources.get(id) else { throw Self.noSuchMigrationSource }
        return found
    }

    /// 400 unless `name` is one of the tenant's connections.
    func requireConnection(_ name: String) async throws {
        guard try await store.listValues(Connection.self, prefix: StoreKeys.connections(tenant.id)).contains(where: { $0.name == name })
        else {
            throw Payload.error("Payload validation error: 'No connection named \"\(name)\"' on property connection.")
        }
    }

    func seal(_ secret: String, sourceId: String, box: SecretBox) throws -> String {
        do {
            return try box.seal(secret, context: MigrationSource.secretContext(tenant.id, sourceId))
        } catch {
            throw HTTPError(500, "server_error", "The client secret could not be encrypted.")
        }
    }

    public func createMigrationSource(_ input: MigrationSourceInput, box: SecretBox) async throws -> MigrationSource {
        guard let name = input.name, let domain = input.domain, let clientId = input.clientId, let secret = input.clientSecret else {
            throw Payload.error("Payload validation error: 'Missing required property: credentials.client_secret'.")
        }
        guard !MigrationSource.looksMasked(secret) else {
            throw Payload.error(
                "Payload validation error: 'Expected the secret, not a redacted placeholder' on property credentials.client_secret.")
        }
        let connection = input.connection ?? tenant.defaultConnection
        try await requireConnection(connection)
        let id = MigrationSource.newId()
        let now = Date.now
        let source = MigrationSource(
            id: id, name: name, provider: input.provider ?? "auth0", connection: connection, enabled: input.enabled ?? true,
            credentials: .init(
                domain: domain, clientId: clientId, clientSecretSealed: try seal(secret, sourceId: id, box: box),
                clientSecretHint: MigrationSource.hint(secret), audience: input.audience ?? nil, scope: input.scope ?? nil
            ),
            createdAt: now, updatedAt: now
        )
        guard try await store.insertJSONIfAbsent(StoreKeys.migrationSource(tenant.id, id), source) else {
            throw HTTPError(409, "conflict", "Migration source id collision; try again.")
        }
        return source
    }

    /// Applies a partial update. The secret is kept unless a new one is sent; moving the source to another
    /// domain or client id requires the secret again, so a stored secret can never be redirected to a new host.
    public func updateMigrationSource(_ id: String?, _ input: MigrationSourceInput, box: @autoclosure () throws -> SecretBox) async throws
        -> MigrationSource
    {
        if let connection = input.connection { try await requireConnection(connection) }
        guard let id, !id.isEmpty else { throw Self.noSuchMigrationSource }
        return try await store.update(MigrationSource.self, at: StoreKeys.migrationSource(tenant.id, id)) { record in
            guard var source = record else { throw Self.noSuchMigrationSource }
            var c = source.credentials
            let newSecret = input.clientSecret.flatMap { $0 == c.clientSecretHint || MigrationSource.looksMasked($0) ? nil : $0 }
            let moved = (input.domain.map { $0 != c.domain } ?? false) || (input.clientId.map { $0 != c.clientId } ?? false)
            if moved && newSecret == nil {
                throw Payload.error(
                    "Payload validation error: 'A new client_secret is required when domain or client_id changes' on property credentials.client_secret."
                )
            }
            if let v = input.name { source.name = v }
            if let v = input.provider { source.provider = v }
            if let v = input.connection { source.connection = v }
            if let v = input.enabled { source.enabled = v }
            if let v = input.domain { c.domain = v }
            if let v = input.clientId { c.clientId = v }
            if let v = input.audience { c.audience = v }
            if let v = input.scope { c.scope = v }
            if let newSecret {
                c.clientSecretSealed = try seal(newSecret, sourceId: source.id, box: try box())
                c.clientSecretHint = MigrationSource.hint(newSecret)
            }
            source.credentials = c
            source.updatedAt = .now
            record = source
            return source
        }
    }

    public func deleteMigrationSource(_ id: String?) async throws -> MigrationSource {
        let (source, version) = try await migrationSource(id)
        guard try await store.delete(StoreKeys.migrationSource(tenant.id, source.id), expectedVersion: version) else {
            throw HTTPError(409, "conflict", "The migration source changed while being deleted; try again.")
        }
        return source
    }
}
