import GangwayPlatform

// The Auth0 layer's domain errors as HTTP answers: the one place they are mapped (see `HTTPAnswerable`).

extension KeyRing.Failure: HTTPAnswerable {
    public var httpError: HTTPError? { HTTPError(500, "server_error", description) }
}

extension Provisioning.Failure: HTTPAnswerable {
    public var httpError: HTTPError? {
        switch self {
        case .invalidIssuer: .badRequest(description)
        case .lostRace: HTTPError(500, "server_error", description)
        }
    }
}
