import FoundationEssentials

/// Username + password against a database connection's bcrypt hashes, behind brute-force protection.
/// An unknown user costs the same bcrypt work as a wrong password (`PasswordHash.dummyVerify`), and both fail
/// the same way to the caller; only the tenant log tells them apart (`fu` / `fp`).
public struct PasswordLogin: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    public enum Failure: Error, Sendable {
        /// Too many consecutive failures for this username: no password is checked.
        case throttled
        case unknownUser
        case wrongPassword(User)
        /// Right password, but an administrator blocked the user.
        case blocked(User)
    }

    /// The database connection called `name`, or nil.
    public func connection(named name: String) async throws -> Connection? {
        try await store.list(prefix: StoreKeys.connections(tenant.id)).lazy.compactMap {
            try? JSON.decode(Connection.self, from: $0.record.value)
        }.first { $0.name == name && $0.strategy == "auth0" }
    }

    /// The user whose email or username is `username` on `connection`, if the password is theirs.
    public func authenticate(connection: Connection, username: String, password: String) async throws -> User {
        let throttle = LoginThrottle(store: store, tenant: tenant)
        if try await throttle.isBlocked(connection: connection.name, username: username) { throw Failure.throttled }

        let users = UserDirectory(store: store, tenant: tenant)
        guard let (user, _) = try await users.find(connection: connection.name, login: username), let hash = user.passwordHash else {
            PasswordHash.dummyVerify(password)
            try await throttle.recordFailure(connection: connection.name, username: username)
            throw Failure.unknownUser
        }
        guard PasswordHash.verify(password, against: hash) else {
            try await throttle.recordFailure(connection: connection.name, username: username)
            throw Failure.wrongPassword(user)
        }
        guard !user.blocked else { throw Failure.blocked(user) }
        try await throttle.reset(connection: connection.name, username: username)
        let now = Date.now
        return try await users.modify(user.userId) {
            $0.lastLogin = now
            $0.loginsCount += 1
        } ?? user
    }
}
