import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Settings come from the environment, as on a FaaS platform.
public struct Configuration: Sendable {
    /// `GANGWAY_STORE`: `sqlite:PATH` (default `sqlite:.gangway/gangway.db`), `file:DIR`, `postgres://…`.
    public var storeURL: String
    /// `GANGWAY_MAX_BODY_BYTES`: largest request body a function accepts (default 100 KiB).
    public var maxBodyBytes: Int
    /// `GANGWAY_MAX_EVENT_BYTES`: largest event a function reads (default 1 MiB).
    public var maxEventBytes: Int
    /// `GANGWAY_SECRET_KEY`: 32 bytes (base64url) that encrypt upstream secrets at rest (see SecretBox).
    public var secretKey: String?
    /// `AWS_LAMBDA_RUNTIME_API`: when set, the function runs as a Lambda Runtime API worker.
    public var runtimeAPI: String?

    public static let defaultStoreURL = "sqlite:.gangway/gangway.db"

    /// From the process's environment, one `getenv` per setting: a cold process spent 0.75 million instructions
    /// building `ProcessInfo.environment` (a dictionary of every variable) to read these five.
    public init() {
        self.init { Self.variable($0) }
    }

    public init(environment: [String: String]) {
        self.init { environment[$0] }
    }

    private init(_ variable: (String) -> String?) {
        storeURL = variable("GANGWAY_STORE").flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultStoreURL
        maxBodyBytes = variable("GANGWAY_MAX_BODY_BYTES").flatMap(Int.init) ?? 100 * 1024
        maxEventBytes = variable("GANGWAY_MAX_EVENT_BYTES").flatMap(Int.init) ?? 1024 * 1024
        secretKey = variable("GANGWAY_SECRET_KEY").flatMap { $0.isEmpty ? nil : $0 }
        runtimeAPI = variable("AWS_LAMBDA_RUNTIME_API").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// One variable of the process's environment, nil when unset.
    public static func variable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
