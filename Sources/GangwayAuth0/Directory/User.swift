import FoundationEssentials
import GangwayPlatform

/// A user of a tenant. Profile fields follow Auth0's normalized profile; the password is a bcrypt hash (or, until
/// the first login after an import, a hash in the algorithm it was imported with).
public struct User: Codable, Sendable, Equatable {
    /// `auth0|<id>` for database users, as Auth0 spells them.
    public var userId: String
    public var connection: String
    public var email: String?
    public var emailVerified: Bool
    public var username: String?
    public var name: String?
    public var nickname: String?
    public var givenName: String?
    public var familyName: String?
    public var picture: String?
    public var passwordHash: String?
    /// A hash brought by an import in another algorithm (`custom_password_hash`): checked at the first login,
    /// then replaced by Gangway's own bcrypt `passwordHash` and dropped. Never both at once.
    public var importedPasswordHash: ImportedPasswordHash? = nil
    public var blocked: Bool
    public var userMetadata: [String: JSONValue]
    public var appMetadata: [String: JSONValue]
    /// Every identity this user logs in with: the primary first, linked secondaries after it.
    public var identities: [Identity]
    public var createdAt: Date
    public var updatedAt: Date
    public var lastLogin: Date?
    public var loginsCount: Int
    /// The upstream Auth0 `sub` this user was lazily migrated from (password fallback or refresh re-mint); nil otherwise.
    public var upstreamSub: String? = nil
    /// Set on a secondary account while it is linked: the primary user its logins resolve to (tokens carry the
    /// primary's `sub`). The primary lists this account in its `identities`; nil for standalone users.
    public var linkedTo: String? = nil

    public struct Identity: Codable, Sendable, Equatable {
        public var connection: String
        /// The id within the provider (`auth0|abc` → `abc`).
        public var userId: String
        public var provider: String
        public var isSocial: Bool
        /// The secondary account's profile, kept when it was linked.
        public var profileData: [String: JSONValue]?

        public init(connection: String, userId: String, provider: String, isSocial: Bool = false, profileData: [String: JSONValue]? = nil) {
            self.connection = connection
            self.userId = userId
            self.provider = provider
            self.isSocial = isSocial
            self.profileData = profileData
        }
    }

    /// A database user who still needs the old tenant to log in: no password hash of its own and none imported
    /// (`gangway migrate from-auth0` stores users so; the password fallback or a hash import completes them).
    public var isPending: Bool {
        identities.first?.provider == "auth0" && passwordHash == nil && importedPasswordHash == nil && linkedTo == nil
    }

    /// A new database-connection user with a fresh `auth0|…` id.
    public init(connection: String, email: String?, username: String? = nil, now: Date = .now) {
        let id = Digest.hex(Random.bytes(12))
        self.userId = "auth0|" + id
        self.connection = connection
        self.email = email
        self.emailVerified = false
        self.username = username
        self.name = email ?? username
        self.nickname = (email ?? username).map { String($0.split(separator: "@").first ?? Substring($0)) }
        self.picture = nil
        self.passwordHash = nil
        self.blocked = false
        self.userMetadata = [:]
        self.appMetadata = [:]
        self.identities = [Identity(connection: connection, userId: id, provider: "auth0")]
        self.createdAt = now
        self.updatedAt = now
        self.lastLogin = nil
        self.loginsCount = 0
    }

    /// The profile's optional strings under Auth0's names, absent when unset: what the Management API's view, a
    /// linked identity's `profileData` and the exports share.
    public var profileFields: [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        out["email"] = email.map(JSONValue.string)
        out["username"] = username.map(JSONValue.string)
        out["name"] = name.map(JSONValue.string)
        out["nickname"] = nickname.map(JSONValue.string)
        out["picture"] = picture.map(JSONValue.string)
        out["given_name"] = givenName.map(JSONValue.string)
        out["family_name"] = familyName.map(JSONValue.string)
        return out
    }

    /// OIDC standard claims for the granted scopes (`profile`, `email`): what ID tokens and /userinfo carry.
    public func claims(scopes: Set<String>) -> [String: JSONValue] {
        var claims: [String: JSONValue] = ["sub": .string(userId)]
        if scopes.contains("profile") {
            claims["name"] = name.map(JSONValue.string)
            claims["nickname"] = nickname.map(JSONValue.string)
            claims["picture"] = picture.map(JSONValue.string)
            claims["given_name"] = givenName.map(JSONValue.string)
            claims["family_name"] = familyName.map(JSONValue.string)
            claims["preferred_username"] = username.map(JSONValue.string)
            claims["updated_at"] = .string(updatedAt.formatted(.iso8601))
        }
        if scopes.contains("email"), let email {
            claims["email"] = .string(email)
            claims["email_verified"] = .bool(emailVerified)
        }
        return claims
    }

    /// How an email or username is compared and indexed: trimmed, then RFC 8265's UsernameCaseMapped profile
    /// (`PRECIS`): one name in NFC or NFD, fullwidth or not, upper or lower case is one login.
    ///
    /// A name PRECIS refuses keeps the old key (trimmed, lowercased). New names never get one (`checkLoginName`
    /// refuses them at the Management API and the CLI); only a user that Auth0 accepted and a migration brought
    /// over can hold such a name, and refusing it there would lose that user.
    public static func normalize(_ login: String) -> String {
        let trimmed = trimmed(login)
        return (try? PRECIS.usernameCaseMapped(trimmed)) ?? trimmed.lowercased()
    }

    /// Refuses a new email or username that PRECIS does not allow: zero-width and control characters,
    /// compatibility look-alikes (ligatures, circled letters), symbols, bidirectional confusion.
    public static func checkLoginName(_ login: String) throws(PRECISError) {
        _ = try PRECIS.usernameCaseMapped(trimmed(login))
    }

    private static func trimmed(_ login: String) -> String {
        String(login.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
