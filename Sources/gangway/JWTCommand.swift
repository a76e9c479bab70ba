import ArgumentParser
import Foundation
import GangwayAuth0

/// Sign and verify tokens with a tenant's keys: for operators debugging tokens, and for the test suite
/// that checks our tokens against outside JOSE libraries.
struct JWTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt", abstract: "Sign or verify a JWT with a tenant's keys.", subcommands: [Sign.self, Verify.self]
    )

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign claims (JSON) with the current key; iss, iat and exp are filled in when missing.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Option(help: "Claims as a JSON object.") var claims = "{}"
        @Option(help: "Lifetime in seconds when exp is missing.") var lifetime = 3600
        @Option(help: "The header's typ: JWT (ID tokens) or at+jwt (access tokens).") var type = "JWT"
        func run() async throws {
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            guard case .object(var object) = try JSONDecoder().decode(JSONValue.self, from: Data(claims.utf8)) else {
                throw ValidationError("--claims must be a JSON object")
            }
            let now = Int64(Date().timeIntervalSince1970)
            object["iss"] = object["iss"] ?? .string(tenant.issuer)
            object["iat"] = object["iat"] ?? .int(now)
            object["exp"] = object["exp"] ?? .int(now + Int64(lifetime))
            let signer = try await KeyRing.load(kv, tenant: tenant, secrets: try store.secrets())
            print(try signer.sign(object, type: type))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a token against the tenant's published keys; prints its claims or the rule it broke (exit 1).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var tenant: TenantOptions
        @Argument var token: String
        @Option var audience: String?
        func run() async throws {
            let kv = try store.open()
            let tenant = try await tenant.resolve(in: kv)
            let ring = try await KeyRing.load(kv, tenant: tenant)
            do {
                try printJSON(try ring.verify(token, audience: audience))
            } catch let error as JWTError {
                FileHandle.standardError.write(Data("\(error.code): \(error.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
