import FoundationEssentials
import GangwayPlatform

/// Sign-up on the hosted page (`/u/signup`, `screen_hint=signup`): a new database user, then the same session as a
/// login. Validated as `POST /api/v2/users` validates (email, a bcrypt-able password), plus Auth0's default password
/// policy for database connections ("good").
public enum SignUp {
    /// Whether the connection takes sign-ups from the page: a database connection without `disable_signup`, and not
    /// in import mode — while a migration is running the old Auth0 tenant may hold that email, and a local sign-up
    /// would shadow the account the user has there (Auth0 runs the Get User script first; Gangway cannot ask).
    public static func allowed(on connection: Connection) -> Bool {
        connection.isDatabase && connection.options["disable_signup"]?.boolValue != true
            && connection.options["import_mode"]?.boolValue != true
    }

    /// Auth0's "good" policy, its default for new database connections: at least 8 characters, with three of
    /// lower case, upper case, digits and special characters.
    public static func isStrong(_ password: String) -> Bool {
        guard password.count >= 8 else { return false }
        let kinds = [
            password.contains(where: \.isLowercase), password.contains(where: \.isUppercase), password.contains(where: \.isNumber),
            password.contains(where: { !$0.isLetter && !$0.isNumber }),
        ]
        return kinds.filter { $0 }.count >= 3
    }

    public static let weakPassword = HTTPError(
        400, "invalid_password",
        "Your password is too weak: use at least 8 characters with three of lower case, upper case, numbers and special characters.")
    public static let userExists = HTTPError(400, "user_exists", "The user already exists.")
    public static let notAllowed = HTTPError(403, "signup_disabled", "Sign-ups are not allowed on this connection.")

    /// Creates the user on `connection`. 400 for a malformed email, a weak password or an existing user.
    public static func create(email: String, password: String, connection: Connection, store: any KeyValueStore, tenant: Tenant)
        async throws -> User
    {
        guard allowed(on: connection) else { throw notAllowed }
        guard isStrong(password) else { throw weakPassword }
        let new = try NewUser(
            Payload(fields: ["connection": .string(connection.name), "email": .string(email), "password": .string(password)]))
        var user = User(connection: connection.name, email: new.email, username: nil)
        user.passwordHash = new.passwordHash
        do {
            try await UserDirectory(store: store, tenant: tenant).create(user)
        } catch UserDirectory.Failure.loginTaken, UserDirectory.Failure.userIdTaken {
            throw userExists
        }
        return user
    }
}
