import GangwayPlatform

/// An OAuth grant type as Auth0 names it in an application's `grant_types` and in `grant_type`. A struct, not
/// an enum: applications may list grants Gangway does not implement (`implicit`, `authorization_code`), and
/// those must round-trip unchanged.
public struct GrantType: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let password = GrantType("password")
    /// Auth0's Resource Owner Password Realm grant: `password` on the connection named by `realm`.
    public static let passwordRealm = GrantType("http://auth0.com/oauth/grant-type/password-realm")
    public static let refreshToken = GrantType("refresh_token")
    public static let clientCredentials = GrantType("client_credentials")
    public static let authorizationCode = GrantType("authorization_code")
    /// Not a token-endpoint grant: `/authorize` answering `id_token` / `token` directly (auth0.js v9).
    public static let implicit = GrantType("implicit")

    /// What `POST /oauth/token` implements today (discovery advertises exactly these).
    public static let supported: [GrantType] = [.authorizationCode, .password, .passwordRealm, .refreshToken, .clientCredentials]
}
