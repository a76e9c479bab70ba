import FoundationEssentials
import GangwayPlatform

/// Account linking (`POST/DELETE /api/v2/users/{id}/identities`) with the rules of Auth0's 2018 linking migration:
///
/// - `update:users` (server-side linking): the secondary is named by `provider` + `user_id` (+ `connection_id`)
///   or by its ID token in `link_with`.
/// - only `update:current_user_identities` (user-initiated linking): the path id must be the token's `sub` and the
///   secondary must be proven with its ID token in `link_with`; naming it by `user_id` is the flow Auth0 disabled.
/// - `link_with` is verified fully: this tenant's ID token (`typ` JWT, not an access token), RS256 with a published
///   key, unexpired, `aud` = the `azp` of the access token making the request.
///
/// Records: the secondary keeps its own record with `linkedTo` = the primary (its logins resolve to the primary);
/// the primary lists the secondary in `identities`. Invariant: a primary lists S ⇒ S.linkedTo is that primary.
/// The two-record writes are `UserDirectory.link` and `UserDirectory.unlink`; this layer checks the request.
public enum IdentityLinking {
    public static let serverScope = "update:users"
    public static let userScope = "update:current_user_identities"

    /// Which account to link, as the request named it.
    public enum Secondary: Sendable, Equatable {
        /// `provider|user_id`, with the connection id the caller expects it on (if any).
        case userId(String, connectionId: String?)
        /// The secondary's ID token.
        case idToken(String)
    }

    public static let userIdFlowDisabled = HTTPError(
        403, "insufficient_scope",
        "Linking by user_id needs update:users. A token with only update:current_user_identities must send the secondary account's ID token in link_with: the user_id flow is the one Auth0's account-linking migration disabled (October 19th, 2018)."
    )

    static func linkError(_ status: Int, _ message: String) -> HTTPError {
        HTTPError(status, "invalid_link_with", "link_with: \(message)")
    }
}

extension ManagementCall {
    var isServerSide: Bool { token.scopes.contains(IdentityLinking.serverScope) }

    /// With only `update:current_user_identities`, a user may change their own identities only.
    func checkSelf(_ primaryId: String) throws {
        guard !isServerSide else { return }
        guard primaryId == token.subject else {
            throw HTTPError(
                403, "insufficient_scope",
                "With update:current_user_identities a user may only link or unlink identities of their own account (the path id must be the token's sub)."
            )
        }
    }

    /// The request body of a link, checked against the caller's scopes.
    public func linkRequest(primaryId: String, _ payload: Payload) throws -> IdentityLinking.Secondary {
        try payload.allowOnly(["provider", "connection_id", "user_id", "link_with"])
        try checkSelf(primaryId)
        let linkWith = try payload.string("link_with", maxLength: JWT.maximumTokenLength) ?? nil
        var userId: String?
        switch payload.fields["user_id"] {
        case nil, .null?: userId = nil
        case .int(let n)?: userId = String(n)
        default: userId = try payload.string("user_id", maxLength: 255) ?? nil
        }
        if !isServerSide {
            if userId != nil || payload.has("provider") || payload.has("connection_id") { throw IdentityLinking.userIdFlowDisabled }
            guard let linkWith else { throw Payload.error("Payload validation error: 'Missing required property: link_with'.") }
            return .idToken(linkWith)
        }
        if let linkWith {
            guard userId == nil, !payload.has("provider") else {
                throw Payload.error("Payload validation error: 'Send either link_with or provider and user_id, not both'.")
            }
            return .idToken(linkWith)
        }
        guard let userId else { throw Payload.error("Payload validation error: 'Missing required property: user_id (or link_with)'.") }
        try payload.require("provider")
        let provider = try payload.string("provider", maxLength: 64)!!
        let connectionId = try payload.string("connection_id", maxLength: 128) ?? nil
        let full = userId.hasPrefix(provider + "|") ? userId : provider + "|" + userId
        return .userId(full, connectionId: connectionId)
    }

    /// Verifies a secondary account's ID token and returns its `sub`. Every failure names the rule it broke.
    public func verifyLinkWith(_ idToken: String) async throws -> String {
        guard let azp = token.clientId else {
            throw IdentityLinking.linkError(400, "the access token has no azp, so no ID token audience can match it")
        }
        let verifier = try await TokenVerifier.load(store, tenant: tenant)
        return try verifier.verify(idToken, as: IDToken.self, at: .linkWith(azp: azp)).subject
    }

    /// Links `secondary` into `primaryId`; the primary's identities afterwards.
    public func link(primaryId: String, _ secondary: IdentityLinking.Secondary) async throws -> User {
        let secondaryId: String
        var connectionId: String?
        switch secondary {
        case .idToken(let jwt): secondaryId = try await verifyLinkWith(jwt)
        case .userId(let id, let connection):
            secondaryId = id
            connectionId = connection
        }
        guard secondaryId != primaryId else {
            throw HTTPError(400, "invalid_body", "Main identity and the new one are the same.")
        }
        guard let (primary, _) = try await users.get(primaryId) else { throw Self.noSuchUser }
        if let linked = primary.linkedTo { throw UserDirectory.Failure.primaryIsLinked(linked) }
        guard let (found, _) = try await users.get(secondaryId) else { throw UserDirectory.Failure.noSuchSecondary(secondaryId) }
        if let connectionId {
            let connection = try await connections.all().first(where: { $0.id == connectionId })
            guard connection?.name == found.connection else {
                throw Payload.error(
                    "Payload validation error: 'The secondary user has no identity on connection \(connectionId)' on property connection_id."
                )
            }
        }

        return try await users.link(secondaryId, into: primaryId)
    }

    /// Unlinks `provider|userId` from `primaryId`; the primary's remaining identities afterwards.
    public func unlink(primaryId: String, provider: String, userId: String) async throws -> User {
        try checkSelf(primaryId)
        guard let (primary, _) = try await users.get(primaryId) else { throw Self.noSuchUser }
        guard let index = primary.identities.firstIndex(where: { $0.provider == provider && $0.userId == userId }) else {
            throw UserDirectory.Failure.noSuchIdentity(provider: provider, userId: userId)
        }
        guard index > 0 else { throw HTTPError(400, "operation_not_supported", "Main identity cannot be removed.") }
        return try await users.unlink(provider: provider, userId: userId, from: primaryId)
    }
}
