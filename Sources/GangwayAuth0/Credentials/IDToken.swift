import FoundationEssentials
import GangwayPlatform

/// A verified ID token of this tenant (OIDC): proof that its holder signed in as `subject`, for the application
/// named in `aud`. Account linking takes one in `link_with` as proof of the secondary account.
public struct IDToken: Sendable {
    public let claims: [String: JSONValue]
    public let subject: String
}

/// Typed `JWT`, never `at+jwt`: an access token is no proof of a sign-in. The header is judged before the signature,
/// so the wrong shape, algorithm or kind of token is told apart from one that is not trusted.
extension IDToken: VerifiedToken {
    public static let type = "JWT"
    public static let headerCheck = TokenVerifier.HeaderCheck.beforeSignature

    public init(verified claims: [String: JSONValue]) throws(TokenRejection) {
        guard let sub = claims["sub"]?.stringValue, !sub.isEmpty else { throw .noSubject }
        self.init(claims: claims, subject: sub)
    }
}
