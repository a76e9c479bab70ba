import FoundationEssentials
import GangwayPlatform
import Logging

/// `gangway migrate from-auth0`: copies an Auth0 tenant's configuration into this tenant, each thing through the
/// same code the Management API writes it with, so a copy is held to the same rules as an API call:
/// applications (keeping `client_id` and `client_secret`), APIs, client grants, database connections' settings,
/// every user of those connections (pending: no password hash), the old tenant's signing keys (`UpstreamKeys`), and — given the old application that holds the password-realm
/// grant — the password fallback on each database connection and a migration source for refresh-token re-mint.
///
/// Every step is idempotent: what exists already and is the same is left alone, what changed upstream is updated,
/// so a second run syncs and an interrupted run resumes by running again. With `plan` nothing is written and the
/// report says what would be. Users arrive through Auth0's users-export job, without hashes (`+Users.swift`).
public struct Auth0TenantMigration: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant
    public let upstream: Auth0Management
    public let secrets: SecretBox
    public let plan: Bool
    /// The old tenant's application with the password-realm grant, whose credentials the fallback and the
    /// migration source use; without it neither is made.
    public let fallbackClientId: String?

    public init(
        store: any KeyValueStore, tenant: Tenant, upstream: Auth0Management, secrets: SecretBox, plan: Bool, fallbackClientId: String?
    ) {
        self.store = store
        self.tenant = tenant
        self.upstream = upstream
        self.secrets = secrets
        self.plan = plan
        self.fallbackClientId = fallbackClientId
    }

    /// What one step did (or, with `plan`, would do).
    public struct Step: Codable, Sendable, Equatable {
        public var name: String
        public var created = 0
        public var updated = 0
        public var unchanged = 0
        public var skipped = 0
        public var failed = 0
        /// One line per skipped or failed item, and what the operator should know (never a secret).
        public var notes: [String] = []

        public init(name: String) { self.name = name }
    }

    /// The password-realm grant type an application needs for the fallback.
    public static let passwordRealm = "http://auth0.com/oauth/grant-type/password-realm"

    /// Options of an Auth0 database connection that are Auth0's machinery, not settings a copy should carry.
    static let connectionOptionsLeftBehind: Set<String> = [
        "import_mode", "configuration", "customScripts", "enabledDatabaseCustomization", "bareConfiguration",
    ]

    /// Runs every step in order; `progress(step, done, total)` is called as items are handled.
    public func run(progress: (String, Int, Int) -> Void = { _, _, _ in }) async throws -> [Step] {
        let clients = try upstream.list("/api/v2/clients", key: "clients")
        var steps = [try await applications(clients, progress)]
        steps.append(try await apis(progress))
        steps.append(try await clientGrants(progress))
        let (connectionStep, databaseConnections) = try await connections(progress)
        steps.append(connectionStep)
        steps.append(try await users(databaseConnections, progress))
        steps.append(try await keys())
        steps.append(try await fallback(clients, databaseConnections.map(\.local)))
        return steps
    }

    /// The CLI acting for the operator: every administration scope, log entries under the operator's name.
    var call: ManagementCall {
        ManagementCall(
            tenant: tenant,
            token: AccessToken(claims: ["sub": "gangway migrate from-auth0", "gty": "client-credentials", "scope": "read:client_keys"]),
            store: store, log: TenantLog(store: store, tenant: tenant, logger: Logger(label: "gangway.migrate")))
    }

    // MARK: Steps

    func applications(_ clients: [JSONValue], _ progress: (String, Int, Int) -> Void) async throws -> Step {
        var step = Step(name: "applications")
        let directory = ApplicationDirectory(store: store, tenant: tenant, secrets: secrets)
        for (index, client) in clients.enumerated() {
            defer { progress(step.name, index + 1, clients.count) }
            guard let clientId = client["client_id"]?.stringValue, client["global"]?.boolValue != true else {
                step.skipped += 1  // Auth0's "All Applications" entry: tenant settings, not an application
                continue
            }
            var fields = Self.pick(client, ClientSettings.fields.union(["client_id", "client_secret"]))
            // Auth0 answers more members than an application may set (computed ones): keep the settable ones.
            if let jwt = fields["jwt_configuration"]?.objectValue {
                fields["jwt_configuration"] = .object(jwt.filter { ClientSettings.jwtConfigurationFields.contains($0.key) })
            }
            if let refresh = fields["refresh_token"]?.objectValue {
                fields["refresh_token"] = .object(refresh.filter { ClientSettings.refreshTokenFields.contains($0.key) })
            }
            let settings = fields.filter { $0.key != "client_id" && $0.key != "client_secret" }
            try await reconcile(
                &step, "application \(clientId)", existing: try await directory.get(clientId),
                change: { try ClientSettings(Payload(fields: settings)).apply(to: &$0) },
                update: { _ = try await directory.modify(clientId) { try ClientSettings(Payload(fields: settings)).apply(to: &$0) } },
                create: { write in
                    let new = try NewClient(Payload(fields: fields), mayImportKeys: true)
                    if write { try await directory.create(new.application(), secret: new.clientSecret ?? ApplicationDirectory.newSecret()) }
                })
        }
        return step
    }

    func apis(_ progress: (String, Int, Int) -> Void) async throws -> Step {
        var step = Step(name: "apis")
        let servers = try upstream.list("/api/v2/resource-servers", key: "resource_servers")
        let local = ResourceServers(store: store, tenant: tenant)
        for (index, server) in servers.enumerated() {
            defer { progress(step.name, index + 1, servers.count) }
            guard server["is_system"]?.boolValue != true, let identifier = server["identifier"]?.stringValue else {
                step.skipped += 1  // the old tenant's own Management API: Gangway has its own
                continue
            }
            let fields = Self.pick(server, ResourceServerInput.fields)
            try await reconcile(
                &step, "API \(identifier)", existing: try await local.get(identifier: identifier)?.0,
                change: { try ResourceServerInput(Payload(fields: fields), creating: false).apply(to: &$0) },
                update: {
                    _ = try await local.updateResourceServer(
                        identifier, try ResourceServerInput(Payload(fields: fields), creating: false), Payload(fields: fields))
                },
                create: { write in
                    let input = try ResourceServerInput(Payload(fields: fields), creating: true)
                    if write { _ = try await local.createResourceServer(input) }
                })
        }
        return step
    }

    func clientGrants(_ progress: (String, Int, Int) -> Void) async throws -> Step {
        var step = Step(name: "client grants")
        let grants = try upstream.list("/api/v2/client-grants", key: "client_grants")
        let call = self.call
        var leftToOperator = 0
        for (index, grant) in grants.enumerated() {
            defer { progress(step.name, index + 1, grants.count) }
            guard let clientId = grant["client_id"]?.stringValue, let audience = grant["audience"]?.stringValue else {
                step.skipped += 1
                continue
            }
            // Grants to the old tenant's Management API name Auth0's scopes on Auth0's audience: not copied.
            if audience == upstream.managementAudience {
                step.skipped += 1
                leftToOperator += 1
                continue
            }
            let scope = grant["scope"]?.arrayValue?.compactMap(\.stringValue) ?? []
            do {
                if let existing = try await call.clientGrants(clientId: clientId, audience: audience).first?.value {
                    if Set(existing.scope) == Set(scope) {
                        step.unchanged += 1
                    } else {
                        let input = try ClientGrantInput(Payload(fields: ["scope": .array(scope.map(JSONValue.string))]), creating: false)
                        if !plan { _ = try await call.updateClientGrant(existing.id, input) }
                        step.updated += 1
                    }
                } else {
                    let fields: [String: JSONValue] = [
                        "client_id": .string(clientId), "audience": .string(audience), "scope": .array(scope.map(JSONValue.string)),
                    ]
                    let input = try ClientGrantInput(Payload(fields: fields), creating: true)
                    // In a plan the application or API may only be about to exist: count it as created.
                    if !plan { _ = try await call.createClientGrant(input) }
                    step.created += 1
                }
            } catch let refused as HTTPError {
                step.failed += 1
                step.notes.append("client grant \(clientId) → \(audience): \(refused.message)")
            }
        }
        if leftToOperator > 0 {
            step.notes.append(
                "\(leftToOperator) grant(s) to Auth0's Management API not copied: grant Gangway's (\(tenant.managementAudience)) where needed"
            )
        }
        return step
    }

    /// Copies database connections (matched by name; a new one keeps Auth0's `con_…` id) and returns them with
    /// their ids at the old tenant.
    func connections(_ progress: (String, Int, Int) -> Void) async throws -> (Step, [(upstreamId: String, local: Connection)]) {
        var step = Step(name: "connections")
        let upstreamConnections = try upstream.list("/api/v2/connections", key: "connections", query: [("strategy", "auth0")])
        let local = try await ConnectionDirectory(store: store, tenant: tenant).all()
        let call = self.call
        var copied: [(upstreamId: String, local: Connection)] = []
        for (index, connection) in upstreamConnections.enumerated() {
            defer { progress(step.name, index + 1, upstreamConnections.count) }
            guard connection["strategy"]?.stringValue == "auth0", let name = connection["name"]?.stringValue,
                let id = connection["id"]?.stringValue
            else {
                step.skipped += 1
                step.notes.append("connection \(connection["name"]?.stringValue ?? "?"): not a database connection")
                continue
            }
            let settings = (connection["options"]?.objectValue ?? [:]).filter { !Self.connectionOptionsLeftBehind.contains($0.key) }
            if let existing = local.first(where: { $0.name == name }) {
                // The Management API's PATCH of `options`: merged shallowly into what the connection has.
                let changes = try ConnectionChanges(Payload(fields: ["options": .object(settings)]))
                var synced = existing
                try changes.apply(to: &synced)
                if synced == existing {
                    step.unchanged += 1
                } else {
                    if !plan { synced = try await call.updateConnection(existing.id, changes, box: secrets) }
                    step.updated += 1
                }
                copied.append((id, synced))
            } else {
                let new = Connection(id: id, name: name, strategy: .database, options: settings, createdAt: .now)
                if !plan, try await !store.insertJSONIfAbsent(StoreKeys.connection(tenant.id, id), new) {
                    step.failed += 1
                    step.notes.append("connection \(name): its id \(id) is taken by another connection")
                    continue
                }
                step.created += 1
                copied.append((id, new))
            }
        }
        return (step, copied)
    }

    /// Imports the old tenant's JWKS as verify-only keys; a later run with the same keys keeps the deadline.
    func keys() async throws -> Step {
        var step = Step(name: "signing keys")
        let url = upstream.baseURL + "/.well-known/jwks.json"
        let body = try UpstreamKeys.fetch(url)
        let existing = try await UpstreamKeys.load(store, tenant: tenant)
        let keys = try await UpstreamKeys.parse(jwks: body, store: store, tenant: tenant)
        var deadline = existing?.deadline
        if let existing, Set(existing.keys) == Set(keys) {
            step.unchanged += keys.count
        } else {
            if !plan { deadline = try await UpstreamKeys.importKeys(keys, source: url, store: store, tenant: tenant).deadline }
            if existing == nil { step.created += keys.count } else { step.updated += keys.count }
        }
        if let deadline {
            step.notes.append("published and trusted at /userinfo until \(ManagementDate.string(deadline))")
        }
        return step
    }

    /// Turns on the password fallback of each copied database connection and makes one migration source per
    /// connection, both with the named application's credentials (verified to exist upstream, to be confidential
    /// and to hold the password-realm grant: nothing is made from credentials that cannot work).
    func fallback(_ clients: [JSONValue], _ connections: [Connection]) async throws -> Step {
        var step = Step(name: "password fallback and re-mint")
        guard let fallbackClientId else {
            step.skipped += connections.count
            step.notes.append("no --fallback-client given: no password fallback and no migration source were made")
            return step
        }
        guard let client = clients.first(where: { $0["client_id"]?.stringValue == fallbackClientId }) else {
            step.failed += connections.count
            step.notes.append("--fallback-client \(fallbackClientId) is not an application of the old tenant")
            return step
        }
        guard let secret = client["client_secret"]?.stringValue, !secret.isEmpty,
            client["grant_types"]?.arrayValue?.contains(.string(Self.passwordRealm)) == true
        else {
            step.failed += connections.count
            step.notes.append(
                "--fallback-client \(fallbackClientId) must be confidential and hold the password-realm grant (\(Self.passwordRealm))")
            return step
        }
        let call = self.call
        let sources = try await MigrationSources(store: store, tenant: tenant).all()
        for connection in connections {
            // The fallback.
            let c = connection.options["configuration"]?.objectValue ?? [:]
            let configured =
                connection.options["import_mode"]?.boolValue == true
                && c["token_endpoint"]?.stringValue == upstream.baseURL + "/oauth/token"
                && c["client_id"]?.stringValue == fallbackClientId
            if configured {
                step.unchanged += 1
            } else {
                let options: JSONValue = [
                    "import_mode": true,
                    "configuration": [
                        "token_endpoint": .string(upstream.baseURL + "/oauth/token"),
                        "userinfo_endpoint": .string(upstream.baseURL + "/userinfo"),
                        "client_id": .string(fallbackClientId), "client_secret": .string(secret), "realm": .string(connection.name),
                    ],
                ]
                let changes = try ConnectionChanges(Payload(fields: ["options": options]))
                if !plan { _ = try await call.updateConnection(connection.id, changes, box: secrets) }
                step.created += 1
            }
            // The migration source.
            let domain = MigrationSource.normalizedDomain(upstream.baseURL) ?? upstream.baseURL
            if sources.contains(where: {
                $0.connection == connection.name && $0.credentials.domain == domain && $0.credentials.clientId == fallbackClientId
            }) {
                step.unchanged += 1
            } else {
                let fields: [String: JSONValue] = [
                    "name": .string("Auth0 \(domain) (\(connection.name))"), "provider": "auth0", "connection": .string(connection.name),
                    "credentials": ["domain": .string(domain), "client_id": .string(fallbackClientId), "client_secret": .string(secret)],
                ]
                let input = try MigrationSourceInput(Payload(fields: fields), creating: true)
                if !plan { _ = try await call.createMigrationSource(input, box: secrets) }
                step.created += 1
            }
        }
        return step
    }

    // MARK: Helpers

    /// One item of a step: created when absent, updated when the upstream settings `change` it, else unchanged. A
    /// refusal (the Management API's own validation) fails the item alone. `create` validates even in a plan, and
    /// writes only when told to; `update` runs only outside a plan.
    func reconcile<Item: Equatable>(
        _ step: inout Step, _ label: String, existing: Item?, change: (inout Item) throws -> Void, update: () async throws -> Void,
        create: (_ write: Bool) async throws -> Void
    ) async throws {
        do {
            if let existing {
                var synced = existing
                try change(&synced)
                if synced == existing {
                    step.unchanged += 1
                } else {
                    if !plan { try await update() }
                    step.updated += 1
                }
            } else {
                try await create(!plan)
                step.created += 1
            }
        } catch let refused as HTTPError {
            step.failed += 1
            step.notes.append("\(label): \(refused.message)")
        }
    }

    /// The named members of an Auth0 object, without nulls (Auth0 answers `null` for settings never set).
    static func pick(_ object: JSONValue, _ names: Set<String>) -> [String: JSONValue] {
        (object.objectValue ?? [:]).filter { names.contains($0.key) && !$0.value.isNull }
    }
}
