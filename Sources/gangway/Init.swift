import ArgumentParser
import Foundation
import GangwayAuth0

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the tenant, a signing key, a first-party app, a Management API M2M app and the database connection (idempotent)."
    )

    @OptionGroup var store: StoreOptions
    @Option(help: "The tenant's issuer URL.") var issuer = "http://127.0.0.1:3000/"
    @Option(name: .customLong("domain"), help: "Another host (with port) this tenant answers on; repeatable.") var domains: [String] = []
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        let provisioning = Provisioning(store: try store.open(), secrets: try store.secrets())
        let result = try await provisioning.initialize(issuer: issuer, aliases: domains)
        if json {
            try printJSON(result)
            return
        }
        print(result.created ? "Created tenant \(result.tenant)" : "Tenant \(result.tenant) already exists")
        print("issuer:      \(result.issuer)")
        print("app:         \(result.app.clientId)  secret: \(result.app.clientSecret ?? "(shown only at creation)")")
        print("management:  \(result.management.clientId)  secret: \(result.management.clientSecret ?? "(shown only at creation)")")
        print("connection:  \(result.connection.name) (\(result.connection.id))")
    }
}
