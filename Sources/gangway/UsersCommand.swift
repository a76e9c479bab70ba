import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway users create`: an operator's way to seed a database user (bcrypt hash) without the Management API.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage a tenant's users.", subcommands: [Create.self, Import.self, Export.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a database user; prints it as JSON (without the hash).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "The user's password (bcrypt-hashed, cost 10).") var password: String
        @Option(help: "An optional username.") var username: String?
        @Option(help: "The database connection (default: the tenant's default connection).") var connection: String?
        @Flag(help: "Mark the email as verified.") var emailVerified = false
        @Flag(help: "Create the user blocked.") var blocked = false

        func validate() throws {
            for (option, name) in [("--email", email), ("--username", username)] {
                guard let name else { continue }
                do {
                    try User.checkLoginName(name)
                } catch {
                    throw ValidationError("\(option): \(error)")
                }
            }
        }

        func run() async throws {
            let store = try store.open()
            let tenant = try await tenant.resolve(in: store)
            let name = connection ?? tenant.defaultConnection
            guard try await PasswordLogin(store: store, tenant: tenant).connection(named: name) != nil else {
                throw ValidationError("No database connection named \(name).")
            }
            var user = User(connection: name, email: email, username: username)
            user.emailVerified = emailVerified
            user.blocked = blocked
            user.passwordHash = try PasswordHash.make(password)
            do {
                try await UserDirectory(store: store, tenant: tenant).create(user)
            } catch UserDirectory.Failure.loginTaken(let login) {
                throw ValidationError("A user with \(login) already exists on \(name).")
            }
            user.passwordHash = nil
            try printJSON(["user_id": user.userId, "email": email, "connection": name])
        }
    }
}
