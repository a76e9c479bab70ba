import ArgumentParser
import Foundation
import GangwayAuth0

@main
struct GangwayCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gangway",
        abstract: "An Auth0-compatible identity service, as a bundle of small functions.",
        subcommands: [
            Serve.self, Init.self, Invoke.self, Keys.self, JWTCommand.self, StoreCommand.self, UsersCommand.self, AppsCommand.self,
            ApisCommand.self,
            TenantCommand.self, MigrateCommand.self,
        ]
    )
}

/// Options shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: "Store URL (sqlite:PATH, file:DIR); default $GANGWAY_STORE or sqlite:.gangway/gangway.db.")
    var url: String?

    /// The URL with relative paths made absolute, so function processes find the same store.
    var resolved: String {
        let raw = url ?? Configuration().storeURL
        for scheme in ["sqlite:", "file:"] where raw.hasPrefix(scheme) && !raw.hasPrefix(scheme + "//") {
            let path = String(raw.dropFirst(scheme.count))
            if !path.hasPrefix("/") { return scheme + FileManager.default.currentDirectoryPath + "/" + path }
        }
        return raw
    }

    func open() throws -> any KeyValueStore { try Store.open(url: resolved) }

    /// The SecretBox of `secretKey()`: seals and opens signing keys and upstream secrets. Not inlined: Swift 6.3.1's
    /// optimiser crashed (LLVM coroutine splitting, swifterror) on this typed-throws call inlined into an async `run()`.
    @inline(never)
    func secrets() throws -> SecretBox {
        let key = try secretKey()
        do {
            return try SecretBox(key: Base64URL.decode(key) ?? [])
        } catch {
            throw ValidationError("GANGWAY_SECRET_KEY (or the secret.key file) is not 32 bytes of base64url.")
        }
    }

    /// `GANGWAY_SECRET_KEY` for the functions: from the environment, else a key file beside a local store
    /// (created 0600 on first use), so a local gateway can keep upstream secrets encrypted at rest.
    func secretKey() throws -> String {
        if let key = Configuration().secretKey { return key }
        var directory = FileManager.default.currentDirectoryPath + "/.gangway"
        for scheme in ["sqlite:", "file:"] where resolved.hasPrefix(scheme) {
            let path = String(resolved.dropFirst(scheme.count)).replacingOccurrences(of: "//", with: "")
            directory = scheme == "file:" ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        let file = directory + "/secret.key"
        if let existing = try? String(contentsOfFile: file, encoding: .utf8) {
            return existing.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = SecretBox.generateKey()
        guard FileManager.default.createFile(atPath: file, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("Could not write \(file)")
        }
        return key
    }
}

/// Picks the tenant a command acts on: by issuer host, or the only tenant in the store.
struct TenantOptions: ParsableArguments {
    @Option(help: "The tenant's issuer URL or host; may be omitted when the store holds one tenant.")
    var tenant: String?

    func resolve(in store: any KeyValueStore) async throws -> Tenant {
        if let tenant {
            let host = tenant.contains("://") ? Tenant.host(ofIssuer: tenant) : tenant
            guard let found = try await TenantDirectory(store: store).tenant(host: host) else {
                throw ValidationError("No tenant answers on \(host).")
            }
            return found
        }
        let all = try await store.listValues(Tenant.self, prefix: StoreKeys.tenantsPrefix)
        guard all.count == 1 else {
            throw ValidationError(all.isEmpty ? "The store has no tenant; run `gangway init`." : "Several tenants: pass --tenant.")
        }
        return all[0]
    }
}

/// Where this binary lives: `swift build` puts the function executables beside it.
enum Paths {
    static var binDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    /// infra/routes.json: from the working directory, else the package that built this binary.
    static func routes() -> String? {
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var candidates = [dir.appendingPathComponent("infra/routes.json").path]
        dir = URL(fileURLWithPath: binDirectory)
        for _ in 0..<5 {
            dir = dir.deletingLastPathComponent()
            candidates.append(dir.appendingPathComponent("infra/routes.json").path)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Runs a core operation for the CLI: a refusal the Management API would answer (409, 400…) becomes a validation
/// error carrying that answer's status, code and message, instead of a Swift error dump.
func answeringRefusals<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let refusal as any HTTPAnswerable {
        guard let answer = refusal.httpError else { throw refusal }
        throw ValidationError("\(answer.status) \(answer.code): \(answer.message)")
    }
}
