import FoundationEssentials
import GangwayPlatform

/// A tenant's users in the store: records by id, plus unique login indexes per connection
/// (email and username), claimed with insert-if-absent so two racing writers cannot create twins.
public struct UserDirectory: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    func recordKey(_ userId: String) -> String { StoreKeys.user(tenant.id, userId) }
    func loginKey(_ connection: String, _ login: String) -> String {
        StoreKeys.userLogin(tenant.id, connection: connection, User.normalize(login))
    }
    var usersPrefix: String { StoreKeys.users(tenant.id) }

    public func get(_ userId: String) async throws -> (User, Int64)? {
        try await store.getCachedJSON(User.self, recordKey(userId))
    }

    /// The user whose email or username on `connection` is `login`.
    public func find(connection: String, login: String) async throws -> (User, Int64)? {
        guard let (userId, _) = try await store.getJSON(String.self, loginKey(connection, login)) else { return nil }
        return try await get(userId)
    }

    public enum CreateError: Error, Sendable { case loginTaken(String) }

    /// Creates the user if its email/username are free on its connection. The indexes are claimed first
    /// (insert-if-absent); if one is taken, the claims made so far are released and `loginTaken` thrown.
    public func create(_ user: User) async throws {
        let logins = [user.email, user.username].compactMap { $0 }.map(User.normalize)
        var claimed: [String] = []
        for login in Set(logins) {
            let key = loginKey(user.connection, login)
            guard try await store.insertJSONIfAbsent(key, user.userId) else {
                for key in claimed { try await store.delete(key) }
                throw CreateError.loginTaken(login)
            }
            claimed.append(key)
        }
        guard try await store.insertJSONIfAbsent(recordKey(user.userId), user) else {
            for key in claimed { try await store.delete(key) }
            throw CreateError.loginTaken(user.userId)
        }
    }

    /// Writes a changed user with compare-and-swap; nil when someone else changed it first.
    public func update(_ user: User, expectedVersion: Int64) async throws -> Int64? {
        try await store.compareAndSwapJSON(recordKey(user.userId), expectedVersion: expectedVersion, user)
    }

    /// Re-reads and applies `change` until the compare-and-swap holds.
    @discardableResult
    public func modify(_ userId: String, _ change: (inout User) throws -> Void) async throws -> User? {
        for _ in 0..<20 {
            guard var (user, version) = try await get(userId) else { return nil }
            try change(&user)
            if try await update(user, expectedVersion: version) != nil { return user }
        }
        throw HTTPError(409, "conflict", "The user kept changing; try again.")
    }

    /// Moves a login index from one value to another (email or username change).
    public func reindex(connection: String, userId: String, from old: String?, to new: String?) async throws -> Bool {
        guard User.normalize(old ?? "") != User.normalize(new ?? "") else { return true }
        if let new {
            guard try await store.insertJSONIfAbsent(loginKey(connection, new), userId) else { return false }
        }
        if let old { try await store.delete(loginKey(connection, old)) }
        return true
    }

    public func delete(_ user: User) async throws {
        for login in [user.email, user.username].compactMap({ $0 }) {
            if let (owner, version) = try await store.getJSON(String.self, loginKey(user.connection, login)), owner == user.userId {
                try await store.delete(loginKey(user.connection, login), expectedVersion: version)
            }
        }
        try await store.delete(recordKey(user.userId))
    }

    /// Users in id order, one page at a time.
    public func list(after: String? = nil, limit: Int) async throws -> [User] {
        try await store.list(prefix: usersPrefix, after: after.map(recordKey), limit: limit).compactMap {
            try? JSON.decode(User.self, from: $0.record.value)
        }
    }
}
