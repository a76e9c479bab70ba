import FoundationEssentials
import GangwayPlatform

/// An application (Auth0 "client"): its id, a hash of its secret, and what it may do.
public struct Application: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case regularWeb = "regular_web"
        case spa, native
        case machineToMachine = "non_interactive"
    }
    public var clientId: String
    public var name: String
    public var kind: Kind
    /// SHA-256 of the secret (secrets are 32 random bytes, so a fast hash is enough); nil for public clients.
    public var secretHash: String?
    public var grantTypes: [GrantType]
    public var createdAt: Date

    /// Checks a presented secret in constant time.
    public func secretMatches(_ secret: String) -> Bool {
        guard let secretHash else { return false }
        return Digest.constantTimeEquals(Array(Digest.sha256Hex(secret).utf8), Array(secretHash.utf8))
    }
}

/// An API (Auth0 "resource server") tokens can be issued for, with the scopes it defines.
public struct ResourceServer: Codable, Sendable, Equatable {
    public var identifier: String
    public var name: String
    public var scopes: [String]
}

/// What a machine-to-machine application may ask for at one audience.
public struct ClientGrant: Codable, Sendable, Equatable {
    public var clientId: String
    public var audience: String
    public var scope: [String]
}
