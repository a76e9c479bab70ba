import FoundationEssentials
import GangwayPlatform

/// The multi-record invariants of a store, checked over every tenant: what atomic batches keep true, and what an
/// operator runs (`gangway store check`) after a crash, a restore or a hand edit. Tests call it in-process after
/// every injected fault.
///
/// - Logins: every login index entry names an existing user of its connection whose email or username
///   (normalised as `User.normalize` does) is that login; every user's logins are indexed to it; no login is
///   held by two users.
/// - Linked accounts: a primary listing a secondary ⇒ the secondary's `linkedTo` is that primary, and back.
/// - Refresh tokens: a rotated token's successor exists (or expires with it: both share the family's absolute
///   lifetime) and belongs to the same family, client and user. A token of a deleted user is not a violation:
///   deleting a user does not delete its tokens, and the refresh grant refuses them.
public struct StoreInvariants: Sendable {
    public let store: any KeyValueStore

    public init(store: any KeyValueStore) { self.store = store }

    /// One broken invariant: the record it was found at and what is wrong.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var problem: String
        public var description: String { "\(key): \(problem)" }
    }

    /// Every violation in the store, tenant by tenant (empty when consistent).
    public func check() async throws -> [Violation] {
        var violations: [Violation] = []
        for tenant in try await all(Tenant.self, prefix: StoreKeys.tenantsPrefix) {
            violations += try await check(tenant.value)
        }
        return violations
    }

    /// Every violation among one tenant's records.
    public func check(_ tenant: Tenant) async throws -> [Violation] {
        let directory = UserDirectory(store: store, tenant: tenant)
        let users = try await all(User.self, prefix: StoreKeys.users(tenant.id))
        var byId: [String: User] = [:]
        for user in users { byId[user.value.userId] = user.value }
        var violations: [Violation] = []

        // Logins: index → user, user → index, one holder per login.
        for entry in try await all(String.self, prefix: StoreKeys.userLogins(tenant.id)) {
            guard let user = byId[entry.value] else {
                violations.append(Violation(key: entry.key, problem: "names \(entry.value), which does not exist"))
                continue
            }
            let logins = UserDirectory.logins(user).map { directory.loginKey(user.connection, $0) }
            if !logins.contains(entry.key) {
                violations.append(
                    Violation(key: entry.key, problem: "names \(user.userId), whose email/username on \(user.connection) is not this login")
                )
            }
        }
        var holders: [String: [String]] = [:]
        for user in users.map(\.value) {
            for login in UserDirectory.logins(user).sorted() {
                let key = directory.loginKey(user.connection, login)
                holders[key, default: []].append(user.userId)
                let owner = try await store.getJSON(String.self, key)?.0
                if owner != user.userId {
                    violations.append(
                        Violation(
                            key: directory.recordKey(user.userId),
                            problem: "login \(login) on \(user.connection) is indexed to \(owner ?? "nobody")"))
                }
            }
        }
        for (key, ids) in holders.sorted(by: { $0.key < $1.key }) where ids.count > 1 {
            violations.append(Violation(key: key, problem: "held by \(ids.count) users: \(ids.sorted().joined(separator: ", "))"))
        }

        // Linked accounts, both directions.
        for user in users.map(\.value) {
            for identity in user.identities.dropFirst() {
                let secondaryId = identity.provider + "|" + identity.userId
                let linkedTo = byId[secondaryId]?.linkedTo
                if linkedTo != user.userId {
                    violations.append(
                        Violation(
                            key: directory.recordKey(user.userId),
                            problem:
                                "lists \(secondaryId), whose linkedTo is \(linkedTo ?? (byId[secondaryId] == nil ? "(no such user)" : "nil"))"
                        ))
                }
            }
            if let primaryId = user.linkedTo {
                let own = user.linkedIdentity
                let listed = byId[primaryId]?.identities.dropFirst().contains { $0.provider == own.provider && $0.userId == own.userId }
                if listed != true {
                    violations.append(
                        Violation(key: directory.recordKey(user.userId), problem: "linkedTo \(primaryId), which does not list it"))
                }
            }
        }

        // Refresh-token rotation chains.
        for entry in try await allEntries(prefix: StoreKeys.refreshTokens(tenant.id)) {
            let record = try entry.decoded(RefreshTokens.Record.self)
            guard record.state == .rotated else { continue }
            guard let successor = record.successor else {
                violations.append(Violation(key: entry.key, problem: "rotated without a successor"))
                continue
            }
            let successorKey = StoreKeys.refreshToken(tenant.id, hash: successor)
            if let (next, _) = try await store.getJSON(RefreshTokens.Record.self, successorKey) {
                if next.familyId != record.familyId || next.clientId != record.clientId || next.userId != record.userId {
                    violations.append(
                        Violation(key: entry.key, problem: "successor \(successor) belongs to another family, client or user"))
                }
            } else if let expiresAt = entry.record.expiresAt, expiresAt.timeIntervalSinceNow < 2 {
                continue  // expiring with its successor
            } else {
                violations.append(Violation(key: entry.key, problem: "successor \(successor) does not exist"))
            }
        }
        return violations
    }

    private func allEntries(prefix: String) async throws -> [StoreEntry] {
        var entries: [StoreEntry] = []
        while true {
            let page = try await store.list(prefix: prefix, after: entries.last?.key, limit: 1000)
            entries += page
            if page.count < 1000 { return entries }
        }
    }

    private func all<T: Decodable>(_ type: T.Type, prefix: String) async throws -> [StoredValue<T>] {
        try await store.listAllJSON(type, prefix: prefix)
    }
}
