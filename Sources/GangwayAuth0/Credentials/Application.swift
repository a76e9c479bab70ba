import FoundationEssentials
import GangwayPlatform

/// An application (Auth0 "client"): its id, a hash of its secret, and what it may do.
///
/// The settings added with the Management API's `/api/v2/clients` are optional in the stored record: an
/// application stored before them decodes unchanged and behaves as it did (see each setting's `effective…`).
public struct Application: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case regularWeb = "regular_web"
        case spa, native
        case machineToMachine = "non_interactive"
    }
    /// How the application proves itself at `/oauth/token` (Auth0's `token_endpoint_auth_method`).
    public enum AuthMethod: String, Codable, Sendable, CaseIterable {
        /// A public client: no secret (SPAs, native apps).
        case none
        case clientSecretPost = "client_secret_post"
        case clientSecretBasic = "client_secret_basic"
    }
    public var clientId: String
    public var name: String
    public var kind: Kind
    /// SHA-256 of the secret (secrets are long random strings, so a fast hash is enough); nil for public clients.
    public var secretHash: String?
    public var grantTypes: [GrantType]
    public var createdAt: Date

    /// The secret sealed with `GANGWAY_SECRET_KEY` (`SecretBox`), so that a `read:client_keys` token can read it
    /// back as Auth0 allows; nil for applications made before it was kept (their secret is then shown only once).
    public var secretSealed: String? = nil
    public var description: String? = nil
    public var isFirstParty: Bool? = nil
    public var callbacks: [String]? = nil
    public var allowedLogoutURLs: [String]? = nil
    public var webOrigins: [String]? = nil
    public var allowedOrigins: [String]? = nil
    public var authMethod: AuthMethod? = nil
    /// `jwt_configuration.lifetime_in_seconds`: how long its ID tokens live (else the tenant's setting).
    public var idTokenLifetime: Int? = nil
    /// `refresh_token`: Auth0's refresh-token settings, stored as sent (validated).
    public var refreshToken: [String: JSONValue]? = nil
    public var clientMetadata: [String: String]? = nil
    public var updatedAt: Date? = nil
    /// True when its `client_id` was brought from Auth0 with the import extension: the upstream knows this
    /// application under the same id, so a refresh re-mint redeems its upstream tokens as itself.
    public var clientIdImported: Bool? = nil
    /// True while its secret is the one imported from Auth0 (a rotation clears it): only that secret, as the client
    /// presents it, may be sent upstream — a secret Gangway made never leaves Gangway.
    public var secretImported: Bool? = nil

    public init(clientId: String, name: String, kind: Kind, secretHash: String?, grantTypes: [GrantType], createdAt: Date) {
        self.clientId = clientId
        self.name = name
        self.kind = kind
        self.secretHash = secretHash
        self.grantTypes = grantTypes
        self.createdAt = createdAt
    }

    /// Checks a presented secret in constant time.
    public func secretMatches(_ secret: String) -> Bool {
        guard let secretHash else { return false }
        return Digest.constantTimeEquals(Array(Digest.sha256Hex(secret).utf8), Array(secretHash.utf8))
    }

    /// Whether `/oauth/token` may serve `grant` to it. Password-realm is the password grant on a named connection:
    /// an application listing `password` may use it, as on Auth0 (auth0.js and auth0-python send password-realm).
    public func allows(_ grant: GrantType) -> Bool {
        grantTypes.contains(grant) || (grant == .passwordRealm && grantTypes.contains(.password))
    }

    /// The method it authenticates with: as configured, else what its record implies (a secret → post).
    public var effectiveAuthMethod: AuthMethod { authMethod ?? (secretHash == nil ? .none : .clientSecretPost) }
}
