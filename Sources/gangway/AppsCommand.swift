import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway apps …`: a tenant's applications (Auth0 "clients") from the command line, through the same core as the
/// Management API's `/api/v2/clients` (`ApplicationDirectory`, `NewClient`, `ClientSettings`): the same validation,
/// the same defaults, the same sealed secrets.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps", abstract: "Manage a tenant's applications.",
        subcommands: [Create.self, List.self, Get.self, Update.self, Delete.self, RotateSecret.self]
    )

    /// Opens the store, the tenant and its application directory (secrets sealed with GANGWAY_SECRET_KEY).
    struct Target: ParsableArguments {
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions

        func directory() async throws -> ApplicationDirectory {
            let opened = try store.open()
            let tenant = try await tenant.resolve(in: opened)
            let secrets = try? store.secrets()
            return ApplicationDirectory(store: opened, tenant: tenant, secrets: secrets)
        }
    }

    static func show(_ application: Application, secret: String?, in directory: ApplicationDirectory) throws {
        try printJSON(application.managementJSON(secret: secret, tenant: directory.tenant))
    }

    /// A body as `/api/v2/clients` takes it, from a `--json` option.
    static func payload(_ json: String) throws -> Payload {
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8)) else {
            throw ValidationError("--json must be a JSON object.")
        }
        return Payload(fields: object)
    }

    static func list(_ csv: String?) -> JSONValue? {
        csv.map { .array($0.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }) }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an application; prints client_id and (once, for a confidential app) client_secret as JSON.")
        @OptionGroup var target: Target
        @Option(help: "The application's name.") var name: String
        @Option(help: "Comma-separated grant types, e.g. password,refresh_token (default: Auth0's for the app type).")
        var grantTypes: String?
        @Option(help: "regular_web, spa, native or non_interactive (default: native with --public, else regular_web).")
        var appType: String?
        @Option(help: "Comma-separated callback URLs.") var callbacks: String?
        @Option(help: "Keep the client_id the application had on Auth0 (import).") var clientId: String?
        @Option(help: "Keep the client_secret the application had on Auth0 (import).") var clientSecret: String?
        @Flag(help: "A public client (token_endpoint_auth_method none), like a native app or SPA.") var `public` = false

        func run() async throws {
            var fields: [String: JSONValue] = [
                "name": .string(name), "app_type": .string(appType ?? (`public` ? "native" : "regular_web")),
            ]
            fields["grant_types"] = AppsCommand.list(grantTypes)
            fields["callbacks"] = AppsCommand.list(callbacks)
            fields["client_id"] = clientId.map(JSONValue.string)
            fields["client_secret"] = clientSecret.map(JSONValue.string)
            fields["token_endpoint_auth_method"] = .string(`public` ? "none" : "client_secret_post")
            let directory = try await target.directory()
            let (application, secret) = try await answeringRefusals {
                let new = try NewClient(Payload(fields: fields), mayImportKeys: true)
                let secret = new.clientSecret ?? ApplicationDirectory.newSecret()
                return (try await directory.create(new.application(), secret: secret), secret)
            }
            var out = ["client_id": application.clientId]
            if application.effectiveAuthMethod != .none { out["client_secret"] = secret }
            try printJSON(out)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every application as JSON (no secrets).")
        @OptionGroup var target: Target

        func run() async throws {
            let directory = try await target.directory()
            let all = try await directory.all().map { $0.managementJSON(secret: nil, tenant: directory.tenant) }
            try printJSON(JSONValue.array(all))
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one application as JSON.")
        @OptionGroup var target: Target
        @Argument(help: "The client_id.") var clientId: String
        @Flag(help: "Include the client secret (when it is kept sealed).") var showSecret = false

        func run() async throws {
            let directory = try await target.directory()
            guard let application = try await directory.get(clientId) else { throw ValidationError("No application \(clientId).") }
            try AppsCommand.show(application, secret: showSecret ? directory.secret(of: application) : nil, in: directory)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an application with a PATCH /api/v2/clients body.")
        @OptionGroup var target: Target
        @Argument(help: "The client_id.") var clientId: String
        @Option(help: #"The settings to change, as JSON, e.g. '{"callbacks": ["https://app.example/cb"]}'."#) var json: String

        func run() async throws {
            let directory = try await target.directory()
            let updated = try await answeringRefusals {
                let changes = try ClientSettings(AppsCommand.payload(json), atLeastOne: true)
                return try await directory.modify(clientId) { changes.apply(to: &$0) }
            }
            try AppsCommand.show(updated, secret: nil, in: directory)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an application (its refresh tokens stop working).")
        @OptionGroup var target: Target
        @Argument(help: "The client_id.") var clientId: String

        func run() async throws {
            let directory = try await target.directory()
            try await answeringRefusals { try await directory.delete(clientId) }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret", abstract: "Give an application a new secret (the old one stops at once).")
        @OptionGroup var target: Target
        @Argument(help: "The client_id.") var clientId: String

        func run() async throws {
            let directory = try await target.directory()
            let (application, secret) = try await answeringRefusals { try await directory.rotateSecret(clientId) }
            try AppsCommand.show(application, secret: secret, in: directory)
        }
    }
}
