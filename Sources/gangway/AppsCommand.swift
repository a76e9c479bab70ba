import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway apps create`: another application (Auth0 "client") for a tenant.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps", abstract: "Manage a tenant's applications.", subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an application; prints client_id and (once) client_secret as JSON.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "The application's name.") var name: String
        @Option(help: "Comma-separated grant types, e.g. password,refresh_token.") var grantTypes: String
        @Flag(help: "A public client (no secret), like a native app or SPA.") var `public` = false

        func run() async throws {
            let store = try store.open()
            let tenant = try await tenant.resolve(in: store)
            let grants = grantTypes.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map
            { GrantType($0) }
            let (app, secret) = Application.create(
                name: name, kind: `public` ? .native : .regularWeb, grantTypes: grants, confidential: !`public`)
            try await store.putJSON(StoreKeys.application(tenant.id, app.clientId), app)
            var out = ["client_id": app.clientId]
            out["client_secret"] = secret
            try printJSON(out)
        }
    }
}
