import ArgumentParser
import Foundation
import GangwayAuth0

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage a tenant's signing keys.", subcommands: [List.self, Rotate.self, Retire.self, Seal.self]
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
