import ArgumentParser
import Foundation
import GangwayAuth0

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage a tenant's signing keys, and the old tenant's keys during a migration.",
        subcommands: [List.self, Rotate.self, Retire.self, Seal.self, Upstream.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the signing keys (never the private parts).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        func run() async throws {
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let set = try await kv.getJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0 ?? SigningKeySet()
            for key in set.keys {
                let atRest = key.sealedPrivateKey != nil ? "sealed" : "plain"
                print("\(key.kid)\t\(key.state.rawValue)\t\(key.createdAt.formatted(.iso8601))\t\(atRest)")
            }
            if let upstream = try await UpstreamKeys.load(kv, tenant: tenant) {
                let window = upstream.open().isEmpty ? "closed" : "open"
                for key in upstream.keys {
                    print(
                        "\(key.kid)\tupstream\t\(upstream.importedAt.formatted(.iso8601))\t\(window) until \(upstream.deadline.formatted(.iso8601))"
                    )
                }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new signing key current; the old one stays in the JWKS until retired.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        func run() async throws {
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let kid = try await KeyRing.update(kv, tenant: tenant, secrets: try store.secrets()) { set, seal in
                try set.rotate(sealedWith: seal).kid
            }
            print("current key: \(kid)")
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove previous keys from the JWKS (all, or --kid); tokens they signed stop verifying.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option var kid: String?
        func run() async throws {
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let gone = try await KeyRing.update(kv, tenant: tenant, secrets: try store.secrets()) { set, _ in set.retire(kid: kid) }
            print(gone.isEmpty ? "nothing to retire" : "retired: \(gone.joined(separator: ", "))")
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal private keys still stored as plain PEM (stores made before sealing) with GANGWAY_SECRET_KEY.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        func run() async throws {
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let sealed = try await KeyRing.update(kv, tenant: tenant, secrets: try store.secrets()) { set, seal in
                try set.sealPlainKeys(with: seal)
            }
            print(sealed.isEmpty ? "every key is sealed already" : "sealed: \(sealed.joined(separator: ", "))")
        }
    }
}

extension Keys {
    /// The old Auth0 tenant's public keys: published and trusted at /userinfo until the transition deadline, so the
    /// tokens it issued before the cutover keep working (`UpstreamKeys`).
    struct Upstream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The old tenant's public keys, published and trusted at /userinfo until a transition deadline.",
            subcommands: [Import.self, Deadline.self])

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Import the old tenant's JWKS (from its domain, or a file) as verify-only keys.")
            @OptionGroup var store: StoreOptions
            @OptionGroup var tenant: TenantOptions
            @Option(help: "The old tenant's domain (its JWKS is read from https://DOMAIN/.well-known/jwks.json).") var domain: String?
            @Option(help: "A JWKS file instead of the domain.") var file: String?
            @Option(help: "When the keys stop being trusted (ISO 8601). Default: the longest API token lifetime from now, at least 24 h.")
            var deadline: String?

            func run() async throws {
                let kv = try store.open()
                let tenant = try await tenant.resolve(in: kv)
                let until = try deadline.map(Keys.parseDeadline)
                let body: [UInt8]
                let source: String
                switch (domain, file) {
                case (let domain?, nil):
                    guard let url = UpstreamKeys.jwksURL(domain: domain) else {
                        throw ValidationError("--domain must be a host, an https:// URL or a loopback http:// URL")
                    }
                    body = try UpstreamKeys.fetch(url)
                    source = url
                case (nil, let file?):
                    body = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
                    source = file
                default:
                    throw ValidationError("give either --domain or --file")
                }
                let keys = try await UpstreamKeys.parse(jwks: body, store: kv, tenant: tenant)
                let record = try await UpstreamKeys.importKeys(keys, source: source, deadline: until, store: kv, tenant: tenant)
                print("imported \(record.keys.count) upstream key(s) (\(record.keys.map(\.kid).joined(separator: ", "))) from \(source)")
                print("published and trusted at /userinfo until \(record.deadline.formatted(.iso8601))")
            }
        }

        struct Deadline: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Move the transition deadline (ISO 8601, or `now` to stop trusting the old tenant's keys at once).")
            @OptionGroup var store: StoreOptions
            @OptionGroup var tenant: TenantOptions
            @Argument var deadline: String

            func run() async throws {
                let kv = try store.open()
                let tenant = try await tenant.resolve(in: kv)
                guard var record = try await UpstreamKeys.load(kv, tenant: tenant) else {
                    throw ValidationError("no upstream keys are imported (gangway keys upstream import)")
                }
                record.deadline = try Keys.parseDeadline(deadline)
                try await record.save(kv, tenant: tenant)
                let window = record.open().isEmpty ? "closed" : "open"
                print("transition deadline: \(record.deadline.formatted(.iso8601)) (\(window))")
            }
        }
    }

    static func parseDeadline(_ text: String) throws -> Date {
        if text == "now" { return .now }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw ValidationError("the deadline must be an ISO 8601 time such as 2027-01-31T00:00:00Z, or `now`")
        }
        return date
    }
}
