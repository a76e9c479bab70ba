import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway apis …`: a tenant's APIs (Auth0 "resource servers") from the command line, through the same core as the
/// Management API's `/api/v2/resource-servers` (`ResourceServers`, `ResourceServerInput`): the same validation and
/// the same answers (an error is printed as the Management API would answer it).
struct ApisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apis", abstract: "Manage a tenant's APIs (resource servers).",
        subcommands: [List.self, Get.self, Create.self, Update.self, Delete.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions

        func apis() async throws -> ResourceServers {
            let opened = try store.open()
            return ResourceServers(store: opened, tenant: try await tenant.resolve(in: opened))
        }
    }

    /// Runs one operation and prints its answer; a refusal is printed as the Management API would answer it.
    static func run(_ body: () async throws -> JSONValue) async throws {
        try printJSON(try await answeringRefusals(body))
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every API as JSON.")
        @OptionGroup var target: Target

        func run() async throws {
            let apis = try await target.apis()
            try await ApisCommand.run { .array(try await apis.all().map(apis.managementJSON)) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one API (by id or identifier) as JSON.")
        @OptionGroup var target: Target
        @Argument(help: "The API's id or identifier.") var id: String

        func run() async throws {
            let apis = try await target.apis()
            try await ApisCommand.run { apis.managementJSON(try await apis.resourceServer(id).0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API; prints it as JSON.")
        @OptionGroup var target: Target
        @Option(help: "The API's identifier (its audience), e.g. https://api.example.com/.") var identifier: String
        @Option(help: "A display name (default: the identifier).") var name: String?
        @Option(help: "Comma-separated scope values.") var scopes: String?
        @Flag(help: "Allow refresh tokens for this audience (allow_offline_access).") var allowOfflineAccess = false

        func run() async throws {
            var fields: [String: JSONValue] = ["identifier": .string(identifier), "allow_offline_access": .bool(allowOfflineAccess)]
            fields["name"] = name.map(JSONValue.string)
            fields["scopes"] = scopes.map { csv in
                .array(csv.split(separator: ",").map { ["value": .string($0.trimmingCharacters(in: .whitespaces))] })
            }
            let apis = try await target.apis()
            try await ApisCommand.run {
                apis.managementJSON(try await apis.createResourceServer(ResourceServerInput(Payload(fields: fields), creating: true)))
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an API with a PATCH /api/v2/resource-servers body.")
        @OptionGroup var target: Target
        @Argument(help: "The API's id or identifier.") var id: String
        @Option(help: #"The settings to change, as JSON, e.g. '{"token_lifetime": 3600}'."#) var json: String

        func run() async throws {
            let payload = try AppsCommand.payload(json)
            let apis = try await target.apis()
            try await ApisCommand.run {
                apis.managementJSON(try await apis.updateResourceServer(id, ResourceServerInput(payload, creating: false), payload))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an API and its client grants.")
        @OptionGroup var target: Target
        @Argument(help: "The API's id or identifier.") var id: String

        func run() async throws {
            let apis = try await target.apis()
            try await ApisCommand.run { apis.managementJSON(try await apis.deleteResourceServer(id)) }
        }
    }
}
