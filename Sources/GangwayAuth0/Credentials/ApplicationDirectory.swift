import FoundationEssentials
import GangwayPlatform

/// A tenant's applications in the store: the one place they are created, changed, given a new secret and
/// deleted. The Management API (`/api/v2/clients`), `gangway apps` and `gangway init` all come here.
///
/// A secret is kept twice: its SHA-256, which `/oauth/token` checks, and — when `GANGWAY_SECRET_KEY` is set —
/// sealed (`SecretBox`, context `<record key>#client_secret`), so that a `read:client_keys` token can read it
/// back as Auth0 allows. It is never logged and never stored in plain text.
public struct ApplicationDirectory: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant
    /// Seals secrets; nil when no `GANGWAY_SECRET_KEY` is configured (then only the hash is kept).
    public let secrets: SecretBox?

    public init(store: any KeyValueStore, tenant: Tenant, secrets: SecretBox?) {
        self.store = store
        self.tenant = tenant
        self.secrets = secrets
    }

    /// Why the directory refused.
    public enum Failure: Error, Sendable, Equatable {
        /// An application with this `client_id` exists already (an import naming a taken id).
        case clientIdTaken(String)
        case noSuchApplication(String)
    }

    func key(_ clientId: String) -> String { StoreKeys.application(tenant.id, clientId) }

    /// A new secret as long as Auth0's (64 characters of base64url).
    public static func newSecret() -> String { Random.token(bytes: 48) }

    public func get(_ clientId: String) async throws -> Application? {
        try await store.getJSON(Application.self, key(clientId))?.0
    }

    /// Every application, in `client_id` order.
    public func all() async throws -> [Application] {
        try await store.listValues(Application.self, prefix: StoreKeys.applications(tenant.id))
    }

    /// Stores a new application with `secret`; 409-worthy `clientIdTaken` when its id is in use.
    @discardableResult
    public func create(_ application: Application, secret: String?) async throws -> Application {
        var application = application
        if let secret { try keep(secret, in: &application) }
        guard try await store.insertJSONIfAbsent(key(application.clientId), application) else {
            throw Failure.clientIdTaken(application.clientId)
        }
        return application
    }

    /// Re-reads and applies `change` until its compare-and-swap holds.
    public func modify(_ clientId: String, _ change: (inout Application) throws -> Void) async throws -> Application {
        let updated = try await store.update(Application.self, at: key(clientId)) { stored -> Application? in
            guard var application = stored else { return nil }
            try change(&application)
            application.updatedAt = .now
            stored = application
            return application
        }
        guard let updated else { throw Failure.noSuchApplication(clientId) }
        return updated
    }

    /// A new secret, at once: the old one stops working with this write. Returns the application and the secret.
    /// The new secret is Gangway's own, never the upstream's, so it is no longer `secretImported`.
    public func rotateSecret(_ clientId: String) async throws -> (Application, String) {
        let secret = Self.newSecret()
        let application = try await modify(clientId) {
            try keep(secret, in: &$0)
            $0.secretImported = nil
        }
        return (application, secret)
    }

    /// Deletes the application and, in the same batch, its client grants: its refresh tokens stop working at once
    /// (a client that does not exist cannot authenticate at `/oauth/token`), and a later application given the same
    /// `client_id` (an import) starts with no grants.
    @discardableResult
    public func delete(_ clientId: String) async throws -> Application {
        for _ in 0..<StoreContention.attempts {
            guard let (application, version) = try await store.getJSON(Application.self, key(clientId)) else {
                throw Failure.noSuchApplication(clientId)
            }
            let grants = try await ClientGrants(store: store, tenant: tenant).deletions(clientId: clientId)
            if try await store.commit([.delete(key(clientId), expectedVersion: version)] + grants).committed { return application }
        }
        throw StoreError(.contention, "\(key(clientId)) or its grants kept changing under \(StoreContention.attempts) attempts")
    }

    /// The stored secret in plain text, for a `read:client_keys` answer; nil when it was never sealed.
    public func secret(of application: Application) -> String? {
        guard let sealed = application.secretSealed, let secrets else { return nil }
        return try? secrets.open(sealed, context: StoreKeys.clientSecretContext(key(application.clientId)))
    }

    private func keep(_ secret: String, in application: inout Application) throws {
        application.secretHash = Digest.sha256Hex(secret)
        application.secretSealed = try secrets?.seal(secret, context: StoreKeys.clientSecretContext(key(application.clientId)))
    }
}
