import FoundationEssentials
import GangwayPlatform

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
        /// The connection's upstream fallback could not vouch for the password (any cause); `user` when known locally.
        case upstream(PasswordFallback.Failure, User?)
    }

    /// How a successful login was decided: `migrated` when the upstream vouched for it (and `created` when the
    /// local user was made by this login).
    public struct Outcome: Sendable {
        public var user: User
        public var migrated: PasswordFallback.Identity?
        public var created = false
        /// The algorithm of the imported hash this login replaced with Gangway's own (`custom_password_hash`).
        public var rehashed: ImportedPasswordHash.Algorithm? = nil
    }

    /// The database connection called `name`, or nil.
    public func connection(named name: String) async throws -> Connection? {
        try await store.listValues(Connection.self, prefix: StoreKeys.connections(tenant.id)).first { $0.name == name && $0.isDatabase }
    }

    /// The user whose email or username is `username` on `connection`, if the password is theirs.
    public func authenticate(connection: Connection, username: String, password: String) async throws -> User {
        try await login(connection: connection, username: username, password: password).user
    }

    /// As `authenticate`, with the connection's upstream fallback: when no local hash exists for the user and
    /// the connection has `import_mode` on, the upstream Auth0 checks the password (`endUserIP` is forwarded);
    /// on success the user is created (or the hash attached) locally. `secrets` opens the upstream secret.
    public func login(
        connection: Connection, username: String, password: String, endUserIP: String = "", secrets: SecretBox? = nil
    ) async throws -> Outcome {
        let users = UserDirectory(store: store, tenant: tenant)
        let local = try await users.find(connection: connection.name, login: username)?.0
        // Counted per user once the name resolves to one, per name while it does not; a place is claimed before
        // the password is checked. A name that locked before its user existed stays locked.
        let throttle = LoginThrottle(store: store, tenant: tenant)
        let name = LoginThrottle.Subject.login(username)
        if local != nil, try await throttle.isBlocked(connection: connection.name, name) { throw Failure.throttled }
        let subject = local.map { LoginThrottle.Subject.user($0.userId) } ?? name
        guard let attempt = try await throttle.claim(connection: connection.name, subject) else { throw Failure.throttled }
        do {
            let outcome = try await check(connection, username, password, local: local, users, endUserIP: endUserIP, secrets: secrets)
            try await throttle.finish(attempt, .succeeded)
            return outcome
        } catch Failure.blocked(let user) {
            // The password was right: nothing to count, whatever else refuses the login.
            try await throttle.finish(attempt, .succeeded)
            throw Failure.blocked(user)
        } catch let failure as Failure {
            try await throttle.finish(attempt, .failed)
            throw failure
        } catch {
            try? await throttle.finish(attempt, .abandoned)
            throw error
        }
    }

    /// The password check itself (local hash, else the upstream fallback), once the throttle gave it a place.
    private func check(
        _ connection: Connection, _ username: String, _ password: String, local: User?, _ users: UserDirectory,
        endUserIP: String, secrets: SecretBox?
    ) async throws -> Outcome {
        if let local, local.passwordHash == nil, let imported = local.importedPasswordHash {
            return try await replace(imported, of: local, password: password, users)
        }
        guard let local, let hash = local.passwordHash else {
            // No local hash: the upstream may vouch, else it is an unknown user.
            let fallback: PasswordFallback?
            do {
                fallback = try PasswordFallback.of(connection, tenant: tenant)
            } catch {
                PasswordHash.dummyVerify(password)
                throw Failure.upstream(PasswordFallback.Failure(cause: "misconfigured: \(error.cause)", attempts: 0, elapsedMs: 0), local)
            }
            guard let fallback else {
                PasswordHash.dummyVerify(password)
                throw Failure.unknownUser
            }
            let outcome: Outcome
            do {
                outcome = try await migrate(
                    fallback, connection: connection, username: username, password: password, local: local, endUserIP: endUserIP,
                    secrets: secrets)
            } catch let failure as PasswordFallback.Failure {
                // `migrate` has spent one bcrypt hash on every path: never faster than a local wrong password.
                throw Failure.upstream(failure, local)
            }
            guard !outcome.user.blocked else { throw Failure.blocked(outcome.user) }
            var done = outcome
            // A user created by this login was stored with it counted (see `migrate`).
            if !outcome.created { done.user = try await recordLogin(outcome.user.userId, users) ?? outcome.user }
            return done
        }
        guard PasswordHash.verify(password, against: hash) else { throw Failure.wrongPassword(local) }
        guard !local.blocked else { throw Failure.blocked(local) }
        return Outcome(user: try await recordLogin(local.userId, users) ?? local)
    }

    /// A login against a hash brought by an import: it costs what that algorithm costs, and a wrong password also
    /// the bcrypt work of any other wrong password, so a user with a fast imported hash (md5, sha1) cannot be told
    /// by its answer time from a bcrypt user or an unknown one; it fails with the same answer. The right password is
    /// hashed with Gangway's bcrypt and the imported hash dropped, in the same write that counts the login.
    private func replace(_ imported: ImportedPasswordHash, of local: User, password: String, _ users: UserDirectory) async throws
        -> Outcome
    {
        guard imported.verify(password) else {
            PasswordHash.dummyVerify(password)
            throw Failure.wrongPassword(local)
        }
        guard !local.blocked else { throw Failure.blocked(local) }
        guard let hash = try? PasswordHash.make(password) else { throw Failure.wrongPassword(local) }
        let now = Date.now
        var replaced = false
        let user = try await users.modify(local.userId) {
            replaced = false
            $0.lastLogin = now
            $0.loginsCount += 1
            // Unless the hash changed meanwhile (a racing login already replaced it, or an upsert brought another).
            guard $0.passwordHash == nil, $0.importedPasswordHash == imported else { return }
            $0.passwordHash = hash
            $0.importedPasswordHash = nil
            replaced = true
        }
        return Outcome(user: user ?? local, rehashed: replaced ? imported.algorithm : nil)
    }

    private func recordLogin(_ userId: String, _ users: UserDirectory) async throws -> User? {
        let now = Date.now
        return try await users.modify(userId) {
            $0.lastLogin = now
            $0.loginsCount += 1
        }
    }

    /// Asks the upstream, then creates the local user (insert-if-absent) or attaches the hash to the local one.
    /// A racing login that created the user first wins: the loser re-reads it and accepts it when it is the same
    /// upstream identity (or its hash takes this password).
    func migrate(
        _ fallback: PasswordFallback, connection: Connection, username: String, password: String, local: User?,
        endUserIP: String, secrets: SecretBox?
    ) async throws -> Outcome {
        var f = PasswordFallback.Failure(cause: "", attempts: 0, elapsedMs: 0)
        func misconfigured(_ cause: String) -> PasswordFallback.Failure {
            PasswordHash.dummyVerify(password)  // as long as a local wrong password
            return PasswordFallback.Failure(cause: "misconfigured: " + cause, attempts: 0, elapsedMs: 0)
        }
        guard let secrets else { throw misconfigured("no GANGWAY_SECRET_KEY to open the client secret") }
        let secret: String
        do {
            secret = try secrets.open(
                fallback.sealedSecret, context: PasswordFallback.secretContext(tenant: tenant.id, connectionId: connection.id))
        } catch {
            throw misconfigured("the client secret does not open (\(error.description))")
        }
        // The upstream checks the password on a side thread while this one computes the hash the local user will
        // keep: a migrated login costs max(upstream, bcrypt) instead of their sum (a real Auth0 tenant answers in
        // 100+ ms). When the upstream says no, the hash is dropped, having served as the wrong-password delay.
        let asking = SideThread { fallback.verify(username: username, password: password, endUserIP: endUserIP, secret: secret) }
        let hashed = try? PasswordHash.make(password)
        let identity: PasswordFallback.Identity
        switch asking.join() {
        case .failure(let failure): throw failure
        case .success(let found): identity = found
        }
        f.attempts = identity.attempts
        f.elapsedMs = identity.elapsedMs
        func mismatch(_ user: User) -> PasswordFallback.Failure {
            var m = f
            m.cause = "sub mismatch: upstream sub \(identity.sub) is not local user \(user.userId)'s"
            return m
        }
        guard let hash = hashed else {
            f.cause = "the password cannot be hashed locally"
            throw f
        }
        let users = UserDirectory(store: store, tenant: tenant)

        // Known locally without a hash: attach it (if nobody set one meanwhile).
        if let local {
            guard identity.profile.matches(local) else { throw mismatch(local) }
            guard let outcome = try await attach(hash, to: local.userId, identity: identity, password: password, users: users) else {
                throw mismatch(local)
            }
            return outcome
        }
        var fresh = identity.profile.newUser(connection: connection.name, login: username, passwordHash: hash)
        fresh.lastLogin = .now
        fresh.loginsCount = 1
        do {
            try await users.create(fresh)
            return Outcome(user: fresh, migrated: identity, created: true)
        } catch UserDirectory.Failure.loginTaken, UserDirectory.Failure.userIdTaken {
            // Lost a race (or the user exists under the upstream id / another login): re-read the winner.
            for _ in 0..<40 {
                var winner = try await users.find(connection: connection.name, login: username)?.0
                if winner == nil { winner = try await users.get(fresh.userId)?.0 }
                if let winner {
                    guard identity.profile.matches(winner), winner.connection == connection.name else { throw mismatch(winner) }
                    if let outcome = try await attach(hash, to: winner.userId, identity: identity, password: password, users: users) {
                        return outcome
                    }
                    throw mismatch(winner)
                }
                // The winner claims its login indexes before writing its record: give it a moment.
                try await Task.sleep(for: .milliseconds(25))
            }
            f.cause = "conflict: a user with this login or id exists but could not be read"
            throw f
        }
    }

    /// Sets the hash on a user that has none; if one appeared meanwhile, accepts when the upstream identity is the
    /// user's or the password matches it. Nil when the user is gone or is someone else.
    private func attach(_ hash: String, to userId: String, identity: PasswordFallback.Identity, password: String, users: UserDirectory)
        async throws -> Outcome?
    {
        var attached = false
        let user = try await users.modify(userId) { user in
            attached = false
            guard user.passwordHash == nil else { return }
            user.passwordHash = hash
            user.upstreamSub = identity.sub
            attached = true
        }
        guard let user else { return nil }
        if attached { return Outcome(user: user, migrated: identity, created: false) }
        // Someone else stored a hash first (a racing migration of the same user).
        if user.upstreamSub == identity.sub || PasswordHash.verify(password, against: user.passwordHash ?? "") {
            return Outcome(user: user, migrated: identity, created: false)
        }
        return nil
    }
}
