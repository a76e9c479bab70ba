/// Sizes the gateway refuses past, as API Gateway and Lambda would.
enum Limits {
    /// API Gateway + Lambda's synchronous payload limit.
    static let maxRequestBytes = 6 * 1024 * 1024
    static let maxResponseBytes = 6 * 1024 * 1024
}
