import FoundationEssentials
import GangwayPlatform

extension Application {
    /// A new application with a fresh client id and, for a confidential client, a fresh secret
    /// (returned once; only its hash is kept).
    public static func create(name: String, kind: Kind, grantTypes: [GrantType], confidential: Bool) -> (Application, secret: String?) {
        let secret = confidential ? Random.token(bytes: 32) : nil
        let app = Application(
            clientId: Random.identifier(length: 32), name: name, kind: kind, secretHash: secret.map(Digest.sha256Hex),
            grantTypes: grantTypes, createdAt: .now
        )
        return (app, secret)
    }
}
