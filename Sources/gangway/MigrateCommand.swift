import ArgumentParser
import Foundation
import GangwayAuth0

/// `gangway migrate from-auth0`: one command that copies an Auth0 tenant's configuration (`Auth0TenantMigration`).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Start a migration off another identity service.", subcommands: [FromAuth0.self])

    struct FromAuth0: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "from-auth0",
            abstract: "Copy an Auth0 tenant's applications, APIs, client grants, database connections and signing keys.",
            discussion: """
                Reads the old tenant's Management API with a machine-to-machine application there (scopes read:clients \
                read:client_keys read:resource_servers read:client_grants read:connections read:users). Applications keep \
                their client_id and client_secret. With --fallback-client (an old-tenant application holding the \
                password-realm grant) each database connection gets the password fallback and a migration source for \
                refresh-token re-mint. Idempotent: run it again to sync what changed upstream, or to resume. Prints a JSON \
                summary on stdout; progress on a terminal's stderr. The client secret may come from \
                GANGWAY_AUTH0_CLIENT_SECRET instead of the command line.
                """)
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "The old tenant's domain, e.g. acme.eu.auth0.com.") var domain: String
        @Option(help: "The machine-to-machine application's client_id at the old tenant.") var clientId: String
        @Option(help: "Its client_secret (default: $GANGWAY_AUTH0_CLIENT_SECRET).") var clientSecret: String?
        @Option(help: "The old tenant's application holding the password-realm grant, for the password fallback and re-mint.")
        var fallbackClient: String?
        @Flag(help: "Show what would change; write nothing.") var plan = false

        func run() async throws {
            guard let secret = clientSecret ?? ProcessInfo.processInfo.environment["GANGWAY_AUTH0_CLIENT_SECRET"], !secret.isEmpty else {
                throw ValidationError("give --client-secret or set GANGWAY_AUTH0_CLIENT_SECRET")
            }
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let upstream = try Auth0Management(domain: domain, clientId: clientId, clientSecret: secret)
            let migration = Auth0TenantMigration(
                store: kv, tenant: tenant, upstream: upstream, secrets: try store.secrets(), plan: plan, fallbackClientId: fallbackClient)
            let onTerminal = isatty(2) == 1
            let steps = try await migration.run { step, done, total in
                guard onTerminal else { return }
                FileHandle.standardError.write(Data("\r\(step): \(done)/\(total)\u{1B}[K".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
            let failed = steps.reduce(0) { $0 + $1.failed }
            try printJSON(
                JSONValue.object([
                    "plan": .bool(plan), "domain": .string(upstream.baseURL), "upstream_requests": .int(Int64(upstream.requestsSent)),
                    "steps": .array(
                        steps.map { step in
                            [
                                "name": .string(step.name), "created": .int(Int64(step.created)), "updated": .int(Int64(step.updated)),
                                "unchanged": .int(Int64(step.unchanged)), "skipped": .int(Int64(step.skipped)),
                                "failed": .int(Int64(step.failed)), "notes": .array(step.notes.map(JSONValue.string)),
                            ]
                        }),
                ]))
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
