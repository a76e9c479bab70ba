import FoundationEssentials
import GangwayPlatform

/// A connection users log in through (today: database connections, strategy `auth0`).
public struct Connection: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var strategy: Strategy
    public var options: [String: JSONValue]
    public var createdAt: Date

    public static let defaultName = "Username-Password-Authentication"

    /// Auth0's connection strategy (`auth0` for a database connection, `google-oauth2`, `samlp`…). A struct, not
    /// an enum: Auth0 has dozens and a filter may name any of them.
    public struct Strategy: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A database connection: users and password hashes kept by the tenant.
        public static let database = Strategy(rawValue: "auth0")
    }

    /// True for a database connection (the only kind a password login or a user create may use).
    public var isDatabase: Bool { strategy == .database }
}
