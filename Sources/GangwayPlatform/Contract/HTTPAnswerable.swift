/// A domain error that stands for one HTTP answer. Code below the contract throws its own errors (a store
/// conflict, a missing secret key, a tenant without a signing key); only the contract layer
/// (`Function.handle`) turns them into answers, through this one conformance per error type.
/// Anything else a handler throws is our fault: a 500 with the request id.
public protocol HTTPAnswerable: Error {
    /// The answer, or nil when this instance is our fault after all (answered as a logged 500).
    var httpError: HTTPError? { get }
}

extension HTTPError: HTTPAnswerable {
    public var httpError: HTTPError? { self }
}

extension StoreError: HTTPAnswerable {
    /// Lost races answer 409 so the caller may retry. A key the store refuses was made from request input that
    /// no edge check caught (a NUL, an over-long name): the request's fault, 400, never a 500. Every other store
    /// failure is ours (nil: a logged 500).
    public var httpError: HTTPError? {
        switch code {
        case .contention: HTTPError(409, "conflict", "The record kept changing under concurrent writes; try again.")
        case .invalidKey: .badRequest("A value in the request is too long or contains a NUL character.")
        default: nil
        }
    }
}

extension SecretBox.Failure: HTTPAnswerable {
    /// The operator's mistake (no or a bad GANGWAY_SECRET_KEY) is said to the caller; it names no secret.
    public var httpError: HTTPError? { HTTPError(500, "server_error", description) }
}
