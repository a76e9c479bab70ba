import FoundationEssentials
import GangwayPlatform

/// A tenant's users in the store: records by id, plus unique login indexes per connection (email and username).
/// The directory is the one owner of "a login name belongs to exactly one user": every write that touches more
/// than one record (a create, a change of logins, a delete, a link or an unlink) is one atomic store batch
/// (`KeyValueStore.commit`) built here, so a crash or a refused key half-way leaves no orphaned login, no
/// login held by two users, and no half-made link.
///
/// Each batch carries its own conditions: logins are claimed with insert-if-absent (or re-asserted with
/// compare-and-swap when the entry already names this user), records change by compare-and-swap on the version
/// read, and logins are released only at the version read while they still pointed at that user. A batch that
/// loses a race is rebuilt from fresh reads, up to `StoreContention.attempts` times.
public struct UserDirectory: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    /// Why the directory refused a write.
    public enum Failure: Error, Sendable, Equatable {
        /// The login name (normalised) belongs to another user of the connection.
        case loginTaken(String)
        /// A user with this id exists already.
        case userIdTaken(String)
        /// The user to change does not exist (any more).
        case noSuchUser(String)
        /// The account to link does not exist.
        case noSuchSecondary(String)
        /// The account to link is linked already (to this primary, or to another).
        case alreadyLinked(toThisPrimary: Bool)
        /// The account to link has linked accounts of its own.
        case secondaryHasLinks
        /// The primary is itself linked as a secondary of this user.
        case primaryIsLinked(String)
        /// The primary has no linked identity `provider|user_id`.
        case noSuchIdentity(provider: String, userId: String)
        /// A condition of an operation the caller joined to the batch (`create(_:with:)`) did not hold.
        case conditionFailed(key: String)
    }

    func recordKey(_ userId: String) -> String { StoreKeys.user(tenant.id, userId) }
    func loginKey(_ connection: String, _ login: String) -> String {
        StoreKeys.userLogin(tenant.id, connection: connection, User.normalize(login))
    }

    /// The user's login names, normalised.
    static func logins(_ user: User) -> Set<String> {
        Set([user.email, user.username].compactMap { $0 }.map(User.normalize))
    }

    // MARK: - Reading

    public func get(_ userId: String) async throws -> (User, Int64)? {
        try await store.getCachedJSON(User.self, recordKey(userId))
    }

    /// The user whose email or username on `connection` is `login`.
    public func find(connection: String, login: String) async throws -> (User, Int64)? {
        guard let (userId, _) = try await store.getJSON(String.self, loginKey(connection, login)) else { return nil }
        return try await get(userId)
    }

    /// Users in id order, one page at a time (a record that does not decode is reported, never skipped).
    public func list(after: String? = nil, limit: Int) async throws -> [User] {
        try await store.listValues(User.self, prefix: StoreKeys.users(tenant.id), after: after.map(recordKey), limit: limit)
    }

    /// The user a login of `user` speaks for: the primary when `user` is a linked secondary, else `user`.
    public func resolveLinked(_ user: User) async throws -> User {
        guard let primaryId = user.linkedTo, let (primary, _) = try await get(primaryId) else { return user }
        return primary
    }

    /// The user something issued earlier (a refresh token, a code, a browser session) speaks for now: its primary
    /// when it has since been linked as a secondary; nil when it is gone or blocked.
    public func activeUser(_ userId: String) async throws -> User? {
        guard let (found, _) = try await get(userId) else { return nil }
        let user = try await resolveLinked(found)
        return user.blocked ? nil : user
    }

    // MARK: - Writing (every multi-record write is one batch)

    /// Creates the user if its email/username are free on its connection and its id is new: one batch of the
    /// login claims and the record insert, so either all exist afterwards or none does. `extra` joins the same batch
    /// (records that must exist exactly when the user does, such as an upstream subject index or a spent re-mint
    /// claim); when one of their conditions fails nothing is written and `conditionFailed` names its key.
    public func create(_ user: User, with extra: [StoreOperation] = []) async throws {
        var loginsByKey: [String: String] = [:]
        for login in Self.logins(user) { loginsByKey[loginKey(user.connection, login)] = login }
        if case .conditionFailed(_, let key) = try await store.commit(extra + (try creation(of: user))) {
            if let login = loginsByKey[key] { throw Failure.loginTaken(login) }
            if key == recordKey(user.userId) { throw Failure.userIdTaken(user.userId) }
            throw Failure.conditionFailed(key: key)
        }
    }

    /// Creates many users in one batch (a chunk of an import), each with its own `extra` operations: true when all
    /// were written, false when any condition failed, and then none was (the caller retries them one by one).
    public func createAll(_ users: [(User, [StoreOperation])]) async throws -> Bool {
        var operations: [StoreOperation] = []
        for (user, extra) in users { operations += extra + (try creation(of: user)) }
        return try await store.commit(operations).committed
    }

    /// The login claims and the record insert that create `user`.
    private func creation(of user: User) throws -> [StoreOperation] {
        var operations: [StoreOperation] = []
        for login in Self.logins(user).sorted() { operations.append(try .insertJSON(loginKey(user.connection, login), user.userId)) }
        operations.append(try .insertJSON(recordKey(user.userId), user))
        return operations
    }

    /// Re-reads the user and applies `change` until its batch holds; nil when the user does not exist. A change of
    /// email or username claims the new logins, writes the record and releases the old logins in one batch
    /// (`loginTaken` when a new one belongs to someone else), so no moment exists where two users hold one login
    /// or an old login still leads to the user. `extra` joins each attempt's batch (an import's row journal: when
    /// its condition fails nothing is written and the attempt is not repeated). `change` may run more than once. Throws
    /// `StoreError(.contention)` when the user keeps changing.
    @discardableResult
    public func modify(_ userId: String, with extra: [StoreOperation] = [], _ change: (inout User) throws -> Void) async throws -> User? {
        for _ in 0..<StoreContention.attempts {
            guard let (current, version) = try await store.getJSON(User.self, recordKey(userId)) else { return nil }
            var user = current
            try change(&user)
            var operations = extra + [try StoreOperation.compareAndSwapJSON(recordKey(userId), expectedVersion: version, user)]
            operations += try await loginChanges(from: current, to: user)
            let outcome = try await store.commit(operations)
            if outcome.committed { return user }
            if let key = outcome.failedKey, extra.contains(where: { $0.key == key }) { throw Failure.conditionFailed(key: key) }
        }
        throw StoreError(.contention, "\(recordKey(userId)) kept changing under \(StoreContention.attempts) attempts")
    }

    /// Deletes the user and the logins it held in one batch; the deleted record, or nil when there was none.
    @discardableResult
    public func delete(_ userId: String) async throws -> User? {
        for _ in 0..<StoreContention.attempts {
            guard let (user, version) = try await store.getJSON(User.self, recordKey(userId)) else { return nil }
            var operations = [StoreOperation.delete(recordKey(userId), expectedVersion: version)]
            operations += try await releases(Self.logins(user), on: user.connection, ownedBy: userId)
            if try await store.commit(operations).committed { return user }
        }
        throw StoreError(.contention, "\(recordKey(userId)) kept changing under \(StoreContention.attempts) attempts")
    }

    /// Links `secondaryId` into `primaryId`; the primary afterwards. The secondary's `linkedTo` and the primary's
    /// new identity are one batch (compare-and-swap on both: of two links of one secondary only one succeeds).
    public func link(_ secondaryId: String, into primaryId: String) async throws -> User {
        for _ in 0..<StoreContention.attempts {
            guard var (secondary, secondaryVersion) = try await store.getJSON(User.self, recordKey(secondaryId)) else {
                throw Failure.noSuchSecondary(secondaryId)
            }
            if let other = secondary.linkedTo { throw Failure.alreadyLinked(toThisPrimary: other == primaryId) }
            guard secondary.identities.count <= 1 else { throw Failure.secondaryHasLinks }
            // A user linked into itself would be its own primary: refused as a linked primary, as before.
            if secondaryId == primaryId { throw Failure.primaryIsLinked(primaryId) }
            guard var (primary, primaryVersion) = try await store.getJSON(User.self, recordKey(primaryId)) else {
                throw Failure.noSuchUser(primaryId)
            }
            if let linked = primary.linkedTo { throw Failure.primaryIsLinked(linked) }
            let identity = secondary.linkedIdentity
            guard !primary.identities.contains(where: { $0.provider == identity.provider && $0.userId == identity.userId }) else {
                throw Failure.alreadyLinked(toThisPrimary: true)
            }
            secondary.linkedTo = primaryId
            secondary.updatedAt = .now
            primary.identities.append(identity)
            primary.updatedAt = .now
            let outcome = try await store.commit([
                .compareAndSwapJSON(recordKey(secondaryId), expectedVersion: secondaryVersion, secondary),
                .compareAndSwapJSON(recordKey(primaryId), expectedVersion: primaryVersion, primary),
            ])
            if outcome.committed { return primary }
        }
        throw StoreError(.contention, "\(recordKey(primaryId)) kept changing under \(StoreContention.attempts) attempts")
    }

    /// Unlinks the identity `provider|userId` from `primaryId`; the primary afterwards. The identity leaves the
    /// primary and the secondary (when it still names this primary) stands alone again in one batch.
    public func unlink(provider: String, userId: String, from primaryId: String) async throws -> User {
        let secondaryId = provider + "|" + userId
        for _ in 0..<StoreContention.attempts {
            guard var (primary, primaryVersion) = try await store.getJSON(User.self, recordKey(primaryId)) else {
                throw Failure.noSuchUser(primaryId)
            }
            guard let i = primary.identities.firstIndex(where: { $0.provider == provider && $0.userId == userId }), i > 0 else {
                throw Failure.noSuchIdentity(provider: provider, userId: userId)
            }
            primary.identities.remove(at: i)
            primary.updatedAt = .now
            var operations = [try StoreOperation.compareAndSwapJSON(recordKey(primaryId), expectedVersion: primaryVersion, primary)]
            if secondaryId != primaryId, var (secondary, version) = try await store.getJSON(User.self, recordKey(secondaryId)),
                secondary.linkedTo == primaryId
            {
                secondary.linkedTo = nil
                secondary.updatedAt = .now
                operations.append(try .compareAndSwapJSON(recordKey(secondaryId), expectedVersion: version, secondary))
            }
            if try await store.commit(operations).committed { return primary }
        }
        throw StoreError(.contention, "\(recordKey(primaryId)) kept changing under \(StoreContention.attempts) attempts")
    }

    // MARK: - Login indexes

    /// The index operations that move `before`'s logins to `after`'s: each new login claimed (insert-if-absent,
    /// or re-asserted at its version when a stale entry already names this user), each dropped one released.
    /// Throws `loginTaken` when a new login is another user's.
    func loginChanges(from before: User, to after: User) async throws -> [StoreOperation] {
        let (old, new) = (Self.logins(before), Self.logins(after))
        guard old != new || before.connection != after.connection else { return [] }
        var operations: [StoreOperation] = []
        let kept = before.connection == after.connection ? old.intersection(new) : []
        for login in new.subtracting(kept).sorted() {
            let key = loginKey(after.connection, login)
            if let (owner, version) = try await store.getJSON(String.self, key) {
                guard owner == after.userId else { throw Failure.loginTaken(login) }
                operations.append(try .compareAndSwapJSON(key, expectedVersion: version, owner))
            } else {
                operations.append(try .insertJSON(key, after.userId))
            }
        }
        let dropped = before.connection == after.connection ? old.subtracting(new) : old
        return operations + (try await releases(dropped, on: before.connection, ownedBy: before.userId))
    }

    /// Deletes of each login entry that still points at `userId`, at the version read (another's is never freed).
    func releases(_ logins: Set<String>, on connection: String, ownedBy userId: String) async throws -> [StoreOperation] {
        var operations: [StoreOperation] = []
        for login in logins.sorted() {
            let key = loginKey(connection, login)
            if let (owner, version) = try await store.getJSON(String.self, key), owner == userId {
                operations.append(.delete(key, expectedVersion: version))
            }
        }
        return operations
    }
}

extension User {
    /// This account as an identity of the primary it is linked to, with its profile as `profileData`.
    public var linkedIdentity: Identity {
        var profile = profileFields
        profile["email_verified"] = .bool(emailVerified)
        let own =
            identities.first ?? Identity(connection: connection, userId: String(userId.split(separator: "|").last ?? ""), provider: "auth0")
        return Identity(
            connection: own.connection, userId: own.userId, provider: own.provider, isSocial: own.isSocial, profileData: profile)
    }
}
