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
        case .domainTaken: HTTPError(409, "conflict", description)
        }
    }
}

extension UserDirectory.Failure: HTTPAnswerable {
    /// The Management API's answers (user create/update, identity linking), as they were before the directory
    /// owned these rules.
    public var httpError: HTTPError? {
        switch self {
        case .loginTaken, .userIdTaken: ManagementCall.userExists
        case .noSuchUser: ManagementCall.noSuchUser
        case .noSuchSecondary: HTTPError(404, "inexistent_user", "The secondary user does not exist.")
        case .alreadyLinked(let toThisPrimary):
            HTTPError(
                409, "conflict",
                toThisPrimary
                    ? "The secondary account is already linked to this user."
                    : "The secondary account is already linked to another user.")
        case .secondaryHasLinks:
            HTTPError(400, "operation_not_supported", "The secondary account has linked accounts of its own; unlink them first.")
        case .primaryIsLinked(let primary):
            HTTPError(
                400, "operation_not_supported",
                "The primary account is itself linked as a secondary of \(primary); link to that user instead.")
        case .noSuchIdentity(let provider, let userId):
            HTTPError(404, "inexistent_identity", "The user has no identity \(provider)|\(userId).")
        case .conditionFailed: nil  // a caller's own joined write: the caller answers it (a 500 if it does not)
        }
    }
}

extension ApplicationDirectory.Failure: HTTPAnswerable {
    public var httpError: HTTPError? {
        switch self {
        case .clientIdTaken(let id): HTTPError(409, "conflict", "A client with client_id \(id) already exists.")
        case .noSuchApplication: ManagementCall.noSuchClient
        }
    }
}
