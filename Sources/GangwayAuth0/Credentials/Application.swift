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
