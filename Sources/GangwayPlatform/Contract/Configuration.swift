import FoundationEssentials

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

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        storeURL = environment["GANGWAY_STORE"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultStoreURL
        maxBodyBytes = environment["GANGWAY_MAX_BODY_BYTES"].flatMap(Int.init) ?? 100 * 1024
        maxEventBytes = environment["GANGWAY_MAX_EVENT_BYTES"].flatMap(Int.init) ?? 1024 * 1024
        secretKey = environment["GANGWAY_SECRET_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        runtimeAPI = environment["AWS_LAMBDA_RUNTIME_API"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
