import FoundationEssentials
import GangwayPlatform

/// The body of `POST /api/v2/users`, validated. The password is hashed here and never kept in clear.
public struct NewUser: Sendable {
    public var connection: String
    public var email: String
    public var passwordHash: String
    public var username: String?
    public var emailVerified: Bool
    public var blocked: Bool
    public var profile: ProfileChanges
    public var userMetadata: [String: JSONValue]
    public var appMetadata: [String: JSONValue]
    /// The part after `auth0|` when the caller chose the id.
    public var customId: String?

    static let allowed: Set<String> = [
        "connection", "email", "password", "username", "email_verified", "verify_email", "blocked", "name", "nickname",
        "picture", "given_name", "family_name", "user_metadata", "app_metadata", "user_id",
    ]

    public init(_ payload: Payload) throws(HTTPError) {
        try payload.allowOnly(Self.allowed)
        try payload.require("connection")
        connection = try payload.string("connection", maxLength: 128)!!
        try payload.require("email")
        email = try UserFields.email(payload)!
        try payload.require("password")
        passwordHash = try UserFields.password(payload)!
        username = try UserFields.username(payload, nullable: false) ?? nil
        emailVerified = try payload.bool("email_verified") ?? false
        _ = try payload.bool("verify_email")  // accepted; Gangway sends no email
        blocked = try payload.bool("blocked") ?? false
        profile = try ProfileChanges(payload)
        userMetadata = try payload.object("user_metadata") ?? [:]
        appMetadata = try payload.object("app_metadata") ?? [:]
        if let id = try payload.string("user_id", maxLength: 255) {
            // `auth0|` is added here; an id that already has a provider prefix would become `auth0|auth0|…`.
            guard let id, !id.contains("|") else {
                throw Payload.error(
                    "Payload validation error: 'user_id must not contain \"|\"; send the id without the \"auth0|\" prefix' on property user_id."
                )
            }
            customId = id
        }
    }
}

/// The changes `PATCH /api/v2/users/{id}` asks for, validated; `nil` means "not sent", `.some(nil)` means "unset".
public struct UserChanges: Sendable {
    public var email: String?
    public var emailVerified: Bool?
    public var username: String??
    public var passwordHash: String?
    public var blocked: Bool?
    public var profile: ProfileChanges
    public var userMetadata: [String: JSONValue]?
    public var appMetadata: [String: JSONValue]?
    /// Only the user's own connection is accepted (Gangway users have one database identity).
    public var connection: String?

    static let allowed: Set<String> = [
        "email", "email_verified", "username", "password", "blocked", "name", "nickname", "picture", "given_name",
        "family_name", "user_metadata", "app_metadata", "connection", "client_id", "verify_email",
    ]

    public init(_ payload: Payload) throws(HTTPError) {
        try payload.allowOnly(Self.allowed)
        email = try UserFields.email(payload)
        emailVerified = try payload.bool("email_verified")
        username = try UserFields.username(payload, nullable: true)
        passwordHash = try UserFields.password(payload)
        blocked = try payload.bool("blocked")
        profile = try ProfileChanges(payload)
        userMetadata = try payload.object("user_metadata")
        appMetadata = try payload.object("app_metadata")
        connection = try payload.string("connection", maxLength: 128) ?? nil
        _ = try payload.string("client_id", maxLength: 128)
        _ = try payload.bool("verify_email")
    }

    /// Applies the changes (not the login indexes: the caller claims those first).
    public func apply(to user: inout User, now: Date = .now) {
        if let email {
            // A new address is unverified unless the caller says otherwise, as in Auth0.
            if User.normalize(email) != User.normalize(user.email ?? "") { user.emailVerified = false }
            user.email = email
        }
        if let emailVerified { user.emailVerified = emailVerified }
        if let username { user.username = username }
        if let passwordHash { user.passwordHash = passwordHash }
        if let blocked { user.blocked = blocked }
        profile.apply(to: &user)
        if let userMetadata { user.userMetadata = shallowMerge(user.userMetadata, userMetadata) }
        if let appMetadata { user.appMetadata = shallowMerge(user.appMetadata, appMetadata) }
        user.updatedAt = now
    }
}

/// name, nickname, picture, given_name, family_name: strings, `null` unsets.
public struct ProfileChanges: Sendable {
    public var name: String??
    public var nickname: String??
    public var picture: String??
    public var givenName: String??
    public var familyName: String??

    public init(_ payload: Payload) throws(HTTPError) {
        name = try payload.string("name", nullable: true, maxLength: 300)
        nickname = try payload.string("nickname", nullable: true, maxLength: 300)
        picture = try payload.string("picture", nullable: true, maxLength: 2048)
        givenName = try payload.string("given_name", nullable: true, maxLength: 150)
        familyName = try payload.string("family_name", nullable: true, maxLength: 150)
    }

    public func apply(to user: inout User) {
        if let name { user.name = name }
        if let nickname { user.nickname = nickname }
        if let picture { user.picture = picture }
        if let givenName { user.givenName = givenName }
        if let familyName { user.familyName = familyName }
    }
}

enum UserFields {
    static func email(_ payload: Payload) throws(HTTPError) -> String? {
        guard let email = try payload.string("email", maxLength: 254) ?? nil else { return nil }
        do throws(PRECISError) {
            guard Payload.isEmail(email) else { throw .empty }
            try User.checkLoginName(email)
        } catch {
            throw Payload.error(
                "Payload validation error: 'Object didn't pass validation for format email: \(email)' on property email (The user's email)."
            )
        }
        return email
    }

    /// Usernames: 1–128 characters, no whitespace, allowed by PRECIS (`User.checkLoginName`); `null` unsets (PATCH only).
    static func username(_ payload: Payload, nullable: Bool) throws(HTTPError) -> String?? {
        guard let value = try payload.string("username", nullable: nullable, maxLength: 128) else { return nil }
        if let name = value {
            do throws(PRECISError) {
                guard !name.contains(where: { $0.isWhitespace || $0.isNewline }) else { throw .disallowed(0x20) }
                try User.checkLoginName(name)
            } catch {
                throw Payload.error(
                    "Payload validation error: 'Object didn't pass validation for format username: \(name)' on property username.")
            }
        }
        return .some(value)
    }

    /// bcrypt reads only the first 72 bytes: longer passwords are refused rather than silently truncated.
    static func password(_ payload: Payload) throws(HTTPError) -> String? {
        guard let password = try payload.string("password", maxLength: 1024) ?? nil else { return nil }
        guard password.utf8.count <= 72 else {
            throw Payload.error(
                "Payload validation error: 'String is too long (\(password.utf8.count) bytes), maximum 72' on property password.")
        }
        guard !password.utf8.contains(0) else {
            throw Payload.error("Payload validation error: 'Password contains a NUL character' on property password.")
        }
        do {
            return try PasswordHash.make(password)
        } catch {
            throw HTTPError(500, "server_error", "Could not hash the password.")
        }
    }
}

extension ManagementCall {
    public static let userExists = HTTPError(409, "auth0_idp_error", "The user already exists.")
    public static let noSuchUser = HTTPError(404, "inexistent_user", "The user does not exist.")

    /// The user named by the route's `{id}`, or 404 `inexistent_user`.
    public func user(_ id: String?) async throws -> (User, Int64) {
        guard let id, !id.isEmpty, let found = try await users.get(id) else { throw Self.noSuchUser }
        return found
    }

    /// A database connection of this tenant, by name; 400 `inexistent_connection` otherwise.
    public func databaseConnection(named name: String) async throws -> Connection {
        guard let connection = try await connections.all().first(where: { $0.name == name }), connection.isDatabase else {
            throw HTTPError(400, "inexistent_connection", "The connection does not exist.")
        }
        return connection
    }

    /// Creates the user; 409 `auth0_idp_error` when the email, username or id is taken on the connection
    /// (`UserDirectory.Failure`).
    public func createUser(_ new: NewUser, now: Date = .now) async throws -> User {
        let connection = try await databaseConnection(named: new.connection)
        var user = User(connection: connection.name, email: new.email, username: new.username, now: now)
        if let id = new.customId {
            user.userId = "auth0|" + id
            user.identities = [User.Identity(connection: connection.name, userId: id, provider: "auth0")]
        }
        user.passwordHash = new.passwordHash
        user.emailVerified = new.emailVerified
        user.blocked = new.blocked
        new.profile.apply(to: &user)
        user.userMetadata = shallowMerge([:], new.userMetadata)
        user.appMetadata = shallowMerge([:], new.appMetadata)
        try await users.create(user)
        return user
    }

    /// Applies `changes` through the directory, which claims new logins (email, username) before the write and
    /// releases the old ones after it; 409 `auth0_idp_error` when a new login is another user's.
    public func updateUser(_ id: String?, _ changes: UserChanges) async throws -> User {
        guard let id, !id.isEmpty else { throw Self.noSuchUser }
        let updated = try await users.modify(id) { user in
            if let connection = changes.connection, connection != user.connection {
                throw Payload.error(
                    "Payload validation error: 'The user has no identity on connection \(connection)' on property connection.")
            }
            changes.apply(to: &user)
        }
        guard let updated else { throw Self.noSuchUser }
        return updated
    }

    public func deleteUser(_ id: String?) async throws -> User {
        let (user, _) = try await user(id)
        return try await users.delete(user.userId) ?? user
    }

    /// One page of users in id order, and how many there are.
    public func usersPage(_ paging: Paging) async throws -> (users: [User], total: Int) {
        var collector = PageCollector<User>(start: paging.page * paging.perPage, count: paging.perPage)
        var after: String?
        while true {
            let batch = try await users.list(after: after, limit: 500)
            for user in batch { collector.add { user } }
            guard batch.count == 500, let last = batch.last else { break }
            after = last.userId
        }
        return (collector.items, collector.total)
    }
}
