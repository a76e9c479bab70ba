import FoundationEssentials
import GangwayPlatform

/// A tenant's users in the store: records by id, plus unique login indexes per connection (email and username).
/// The directory is the one owner of "a login name belongs to exactly one user": every write that touches more
/// than one record (a create, a change of logins, a delete, a link or an unlink) goes through the few methods
/// here, so an atomic store batch can later replace their step-by-step writes in one place.
///
/// Logins are claimed with insert-if-absent before a record holds them and released after it no longer does,
/// and only while they still point at that user: two racing writers cannot create twins or free another's login.
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

    // MARK: - Writing (every multi-record write)

    /// Creates the user if its email/username are free on its connection and its id is new: the logins are
    /// claimed first, then the record inserted; on a refusal the claims made are released.
    public func create(_ user: User) async throws {
        var claimed: Set<String> = []
        do {
            for login in Self.logins(user) {
                guard try await claim(login, on: user.connection, for: user.userId, allowOwn: false) else {
                    throw Failure.loginTaken(login)
                }
                claimed.insert(login)
            }
            guard try await store.insertJSONIfAbsent(recordKey(user.userId), user) else { throw Failure.userIdTaken(user.userId) }
        } catch {
            try? await release(claimed, on: user.connection, ownedBy: user.userId)
            throw error
        }
    }

    /// Re-reads the user and applies `change` until the compare-and-swap holds (`store.update`); nil when the user
    /// does not exist. A change of email or username claims the new logins before the write (`loginTaken` when
    /// one belongs to someone else) and releases the old ones after it, so no moment exists where two users hold
    /// one login. Throws `StoreError(.contention)` when the user keeps changing.
    @discardableResult
    public func modify(_ userId: String, _ change: (inout User) throws -> Void) async throws -> User? {
        var claimed: Set<String> = []
        var held: Set<String> = []
        var connection = ""
        do {
            let written: User? = try await store.update(User.self, at: recordKey(userId)) { record in
                guard var user = record else { return nil }
                let before = Self.logins(user)
                try change(&user)
                connection = user.connection
                held = before
                for login in Self.logins(user).subtracting(before).subtracting(claimed) {
                    guard try await claim(login, on: connection, for: userId, allowOwn: true) else { throw Failure.loginTaken(login) }
                    claimed.insert(login)
                }
                record = user
                return user
            }
            // The old logins, and claims of attempts that lost a race, unless the written record holds them.
            let kept = written.map(Self.logins) ?? []
            try await release(held.union(claimed).subtracting(kept), on: connection, ownedBy: userId)
            return written
        } catch {
            let current = try? await store.getJSON(User.self, recordKey(userId))?.0
            try? await release(claimed.subtracting(current.map(Self.logins) ?? []), on: connection, ownedBy: userId)
            throw error
        }
    }

    /// Deletes the user (compare-and-swap on its record), then releases the logins it held; the deleted record,
    /// or nil when there was none.
    @discardableResult
    public func delete(_ userId: String) async throws -> User? {
        let removed: User? = try await store.update(User.self, at: recordKey(userId)) { record in
            let user = record
            record = nil
            return user
        }
        if let removed { try await release(Self.logins(removed), on: removed.connection, ownedBy: userId) }
        return removed
    }

    /// Links `secondaryId` into `primaryId`; the primary afterwards. The secondary is claimed first (`linkedTo`,
    /// compare-and-swap: of two links of one secondary only one gets past it), then its identity appended to the
    /// primary; if that fails the claim is released.
    public func link(_ secondaryId: String, into primaryId: String) async throws -> User {
        let claimed: User = try await store.update(User.self, at: recordKey(secondaryId)) { record in
            guard var secondary = record else { throw Failure.noSuchSecondary(secondaryId) }
            if let other = secondary.linkedTo { throw Failure.alreadyLinked(toThisPrimary: other == primaryId) }
            guard secondary.identities.count <= 1 else { throw Failure.secondaryHasLinks }
            secondary.linkedTo = primaryId
            secondary.updatedAt = .now
            record = secondary
            return secondary
        }
        do {
            let identity = claimed.linkedIdentity
            let updated = try await modify(primaryId) { primary in
                if let linked = primary.linkedTo { throw Failure.primaryIsLinked(linked) }
                guard !primary.identities.contains(where: { $0.provider == identity.provider && $0.userId == identity.userId }) else {
                    throw Failure.alreadyLinked(toThisPrimary: true)
                }
                primary.identities.append(identity)
                primary.updatedAt = .now
            }
            guard let updated else { throw Failure.noSuchUser(primaryId) }
            return updated
        } catch {
            _ = try? await modify(secondaryId) { if $0.linkedTo == primaryId { $0.linkedTo = nil } }
            throw error
        }
    }

    /// Unlinks the identity `provider|userId` from `primaryId`; the primary afterwards. The identity leaves the
    /// primary first, then the secondary stands alone again; if that fails the primary gets the identity back.
    public func unlink(provider: String, userId: String, from primaryId: String) async throws -> User {
        var removed: User.Identity?
        let updated = try await modify(primaryId) { primary in
            removed = nil
            guard let i = primary.identities.firstIndex(where: { $0.provider == provider && $0.userId == userId }), i > 0 else {
                throw Failure.noSuchIdentity(provider: provider, userId: userId)
            }
            removed = primary.identities.remove(at: i)
            primary.updatedAt = .now
        }
        guard let updated, let removed else { throw Failure.noSuchUser(primaryId) }
        do {
            try await modify(provider + "|" + userId) { secondary in
                if secondary.linkedTo == primaryId {
                    secondary.linkedTo = nil
                    secondary.updatedAt = .now
                }
            }
        } catch {
            _ = try? await modify(primaryId) { primary in
                if !primary.identities.contains(where: { $0.provider == provider && $0.userId == userId }) {
                    primary.identities.append(removed)
                }
            }
            throw error
        }
        return updated
    }

    // MARK: - Login indexes

    /// Claims `login` for `userId` (insert-if-absent). False when it belongs to another user, or to this one and
    /// `allowOwn` is off (a new user must not inherit a stale entry of its own id).
    func claim(_ login: String, on connection: String, for userId: String, allowOwn: Bool) async throws -> Bool {
        let key = loginKey(connection, login)
        if try await store.insertJSONIfAbsent(key, userId) { return true }
        return allowOwn ? try await store.getJSON(String.self, key)?.0 == userId : false
    }

    /// Releases each login that still points at `userId` (compare-and-swap on the entry: another's is never freed).
    func release(_ logins: Set<String>, on connection: String, ownedBy userId: String) async throws {
        for login in logins {
            let key = loginKey(connection, login)
            if let (owner, version) = try await store.getJSON(String.self, key), owner == userId {
                try await store.delete(key, expectedVersion: version)
            }
        }
    }
}

extension User {
    /// This account as an identity of the primary it is linked to, with its profile as `profileData`.
    public var linkedIdentity: Identity {
        var profile: [String: JSONValue] = ["email_verified": .bool(emailVerified)]
        profile["email"] = email.map(JSONValue.string)
        profile["username"] = username.map(JSONValue.string)
        profile["name"] = name.map(JSONValue.string)
        profile["nickname"] = nickname.map(JSONValue.string)
        profile["picture"] = picture.map(JSONValue.string)
        profile["given_name"] = givenName.map(JSONValue.string)
        profile["family_name"] = familyName.map(JSONValue.string)
        let own =
            identities.first ?? Identity(connection: connection, userId: String(userId.split(separator: "|").last ?? ""), provider: "auth0")
        return Identity(
            connection: own.connection, userId: own.userId, provider: own.provider, isSocial: own.isSocial, profileData: profile)
    }
}
