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
/// Linking claims the secondary first (compare-and-swap), then appends to the primary (compare-and-swap), and
/// releases the claim if the second step fails; unlinking removes from the primary first, then releases the
/// secondary, and puts the identity back if that fails. Two links of one secondary race on its claim: one wins.
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
        if let linked = primary.linkedTo {
            throw HTTPError(400, "operation_not_supported", "The primary account is itself linked as a secondary of \(linked); link to that user instead.")
        }
        guard let (found, _) = try await users.get(secondaryId) else {
            throw HTTPError(404, "inexistent_user", "The secondary user does not exist.")
        }
        if let connectionId {
            let connection = try await connections.all().first(where: { $0.id == connectionId })
            guard connection?.name == found.connection else {
                throw Payload.error("Payload validation error: 'The secondary user has no identity on connection \(connectionId)' on property connection_id.")
            }
        }

        // 1. Claim the secondary (compare-and-swap): of two links of one secondary, only one gets here.
        var claimed: User?
        for _ in 0..<20 {
            guard var (s, version) = try await users.get(secondaryId) else {
                throw HTTPError(404, "inexistent_user", "The secondary user does not exist.")
            }
            if let other = s.linkedTo {
                throw HTTPError(409, "conflict", other == primaryId
                    ? "The secondary account is already linked to this user."
                    : "The secondary account is already linked to another user.")
            }
            guard s.identities.count <= 1 else {
                throw HTTPError(400, "operation_not_supported", "The secondary account has linked accounts of its own; unlink them first.")
            }
            s.linkedTo = primaryId
            s.updatedAt = .now
            if try await users.update(s, expectedVersion: version) != nil { claimed = s; break }
        }
        guard let claimed else { throw HTTPError(409, "conflict", "The secondary user kept changing; try again.") }

        // 2. Append its identity to the primary (compare-and-swap); on any failure release the claim.
        do {
            let identity = claimed.linkedIdentity
            let updated = try await users.modify(primaryId) { p in
                if let linked = p.linkedTo {
                    throw HTTPError(400, "operation_not_supported", "The primary account is itself linked as a secondary of \(linked); link to that user instead.")
                }
                guard !p.identities.contains(where: { $0.provider == identity.provider && $0.userId == identity.userId }) else {
                    throw HTTPError(409, "conflict", "The secondary account is already linked to this user.")
                }
                p.identities.append(identity)
                p.updatedAt = .now
            }
            guard let updated else { throw Self.noSuchUser }
            return updated
        } catch {
            try? await users.modify(secondaryId) { s in
                if s.linkedTo == primaryId { s.linkedTo = nil }
            }
            throw error
        }
    }

    /// Unlinks `provider|userId` from `primaryId`; the primary's remaining identities afterwards.
    public func unlink(primaryId: String, provider: String, userId: String) async throws -> User {
        try checkSelf(primaryId)
        guard let (primary, _) = try await users.get(primaryId) else { throw Self.noSuchUser }
        guard let index = primary.identities.firstIndex(where: { $0.provider == provider && $0.userId == userId }) else {
            throw HTTPError(404, "inexistent_identity", "The user has no identity \(provider)|\(userId).")
        }
        guard index > 0 else { throw HTTPError(400, "operation_not_supported", "Main identity cannot be removed.") }
        let secondaryId = provider + "|" + userId

        // 1. Remove it from the primary (compare-and-swap).
        var removed: User.Identity?
        let updated = try await users.modify(primaryId) { p in
            removed = nil
            guard let i = p.identities.firstIndex(where: { $0.provider == provider && $0.userId == userId }), i > 0 else {
                throw HTTPError(404, "inexistent_identity", "The user has no identity \(provider)|\(userId).")
            }
            removed = p.identities.remove(at: i)
            p.updatedAt = .now
        }
        guard let updated, let removed else { throw Self.noSuchUser }

        // 2. The secondary stands alone again; if that write fails, the primary gets its identity back.
        do {
            try await users.modify(secondaryId) { s in
                if s.linkedTo == primaryId {
                    s.linkedTo = nil
                    s.updatedAt = .now
                }
            }
        } catch {
            try? await users.modify(primaryId) { p in
                if !p.identities.contains(where: { $0.provider == provider && $0.userId == userId }) { p.identities.append(removed) }
            }
            throw error
        }
        return updated
    }
}

extension User {
    /// This account as an identity of the primary it is linked to, with its profile as `profileData`.
    public var linkedIdentity: Identity {
        var profile: [String: JSONValue] = ["email_verified": .bool(emailVerified)]
        profile["email"] = email.map(JSONValue.string)
        profile["username"] = username.map(JSONValue.string)
        profile["name"] = name.map(JSONValue.string)
        profile["nickname"] = nickname.map(JSONValue.string)
        profile["picture"] = picture.map(JSONValue.string)
        profile["given_name"] = givenName.map(JSONValue.string)
        profile["family_name"] = familyName.map(JSONValue.string)
        let own = identities.first ?? Identity(connection: connection, userId: String(userId.split(separator: "|").last ?? ""), provider: "auth0")
        return Identity(connection: own.connection, userId: own.userId, provider: own.provider, isSocial: own.isSocial, profileData: profile)
    }
}

extension UserDirectory {
    /// The user a login of `user` speaks for: the primary when `user` is a linked secondary, else `user`.
    public func resolveLinked(_ user: User) async throws -> User {
        guard let primaryId = user.linkedTo, let (primary, _) = try await get(primaryId) else { return user }
        return primary
    }
}
