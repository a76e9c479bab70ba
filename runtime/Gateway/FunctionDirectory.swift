import FoundationEssentials
import GangwayPlatform
import Subprocess

/// Where the function executables are and how each runs: executable path, timeout and environment.
struct FunctionDirectory: Sendable {
    struct Spec: Sendable {
        var name: String
        var executable: String
        var timeout: Duration
    }

    let specs: [String: Spec]
    /// Passed to every function process (the gateway's own environment plus GANGWAY_STORE etc.).
    let baseEnvironment: [String: String]

    init(routes: RouteTable, binDirectory: String, environment: [String: String]) throws {
        var specs: [String: Spec] = [:]
        for (name, spec) in routes.functions {
            let path = binDirectory + "/" + name
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw GatewayError("function executable \(path) not found; run `swift build` first")
            }
            specs[name] = Spec(name: name, executable: path, timeout: .seconds(spec.timeoutSeconds))
        }
        self.specs = specs
        self.baseEnvironment = environment
    }

    func spec(_ name: String) -> Spec? { specs[name] }

    func environment(extra: [String: String] = [:]) -> Subprocess.Environment {
        var all = baseEnvironment
        all.merge(extra) { _, new in new }
        return .custom(Dictionary(uniqueKeysWithValues: all.map { (Subprocess.Environment.Key(rawValue: $0.key)!, $0.value) }))
    }
}
