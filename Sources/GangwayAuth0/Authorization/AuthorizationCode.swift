import FoundationEssentials
import GangwayPlatform

/// An authorization code (RFC 6749 §4.1.2): 256 random bits, handed to the callback once, stored only as its
/// SHA-256 and bound to everything the token request must repeat or will be given.
public struct AuthorizationCode: Codable, Sendable {
    public var request: AuthorizationRequest
    public var userId: String
    public var connection: String
    public var sid: String
    public var authTime: Int64
    public var issuedAt: Int64
    /// Set when it was exchanged: the ids of what the exchange issued, so that a second use can revoke them.
    public var redeemed: Redemption?

    public struct Redemption: Codable, Sendable {
        public var at: Int64
        /// The access token's `jti` and when it expires.
        public var accessTokenId: String
        public var accessTokenExpiresAt: Int64
        /// The refresh-token family it began, if it gave one.
        public var refreshFamily: String?
    }

    /// How long a code may wait for its exchange (RFC 6749 §4.1.2 recommends at most 10 minutes).
    public static let lifetime: Int64 = 300
    /// How long a used code is remembered, so that a replay is caught (and revokes what it gave) rather than
    /// answered as unknown: the default access-token lifetime.
    public static let memory: Int64 = 86_400
}

/// The store of authorization codes.
public struct AuthorizationCodes: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    func key(_ code: String) -> String { StoreKeys.authorizationCode(tenant.id, hash: Digest.sha256Hex(code)) }

    public func mint(_ request: AuthorizationRequest, session: BrowserSession) async throws -> String {
        let code = Random.token(bytes: 32)
        let record = AuthorizationCode(
            request: request, userId: session.userId, connection: session.connection, sid: session.sid, authTime: session.authTime,
            issuedAt: Int64(Date.now.timeIntervalSince1970), redeemed: nil)
        _ = try await store.putJSON(key(code), record, ttl: .seconds(AuthorizationCode.memory))
        return code
    }

    /// Why an exchange was refused. `reused` carries the record whose tokens must now be revoked.
    public enum Failure: Error, Sendable {
        case invalid(String)
        case verifier(String)
        case reused(AuthorizationCode)
    }

    /// Exchanges a code once (compare-and-swap: of two racing exchanges one wins): checks the client, the
    /// redirect_uri, age and PKCE, then records the ids the caller will issue tokens under.
    public func redeem(
        _ code: String, client: Application, redirectURI: String?, verifier: String?, accessTokenId: String, accessTokenExpiresAt: Int64,
        refreshFamily: String?
    ) async throws -> AuthorizationCode {
        let now = Int64(Date.now.timeIntervalSince1970)
        guard code.utf8.count <= 128, let (record, version) = try await store.getJSON(AuthorizationCode.self, key(code)) else {
            throw Failure.invalid("unknown or expired code")
        }
        // A code presented by another client is not its to spend (and says nothing about reuse).
        guard record.request.clientId == client.clientId else { throw Failure.invalid("the code was issued to another client") }
        if record.redeemed != nil { throw Failure.reused(record) }
        guard now - record.issuedAt <= AuthorizationCode.lifetime else { throw Failure.invalid("the code has expired") }
        // RFC 6749 §4.1.3: the redirect_uri must be repeated exactly when /authorize was given one.
        if record.request.redirectURISent || redirectURI != nil {
            guard redirectURI == record.request.redirectURI else {
                throw Failure.invalid("redirect_uri does not match the authorization request")
            }
        }
        switch (record.request.codeChallenge, verifier) {
        case (let challenge?, let verifier?):
            guard PKCE.isWellFormed(verifier) else {
                throw Failure.verifier("Parameter 'code_verifier' must be between 43 and 128 characters long.")
            }
            guard PKCE.verifies(verifier, challenge: challenge) else { throw Failure.verifier("Failed to verify code verifier") }
        case (_?, nil): throw Failure.verifier("Missing required parameter: code_verifier")
        // A verifier for a code issued without a challenge is a downgrade attempt (RFC 9700 §4.8.2).
        case (nil, _?): throw Failure.verifier("Failed to verify code verifier")
        case (nil, nil):
            // Public clients have nothing else to prove possession with.
            guard client.effectiveAuthMethod != .none else { throw Failure.verifier("Missing required parameter: code_verifier") }
        }
        var spent = record
        spent.redeemed = .init(
            at: now, accessTokenId: accessTokenId, accessTokenExpiresAt: accessTokenExpiresAt, refreshFamily: refreshFamily)
        guard try await store.compareAndSwapJSON(key(code), expectedVersion: version, spent, ttl: .seconds(AuthorizationCode.memory)) != nil
        else {
            // Another exchange of the same code got there first: this one is the reuse.
            if let (now, _) = try await store.getJSON(AuthorizationCode.self, key(code)) { throw Failure.reused(now) }
            throw Failure.invalid("unknown or expired code")
        }
        return spent
    }

    /// Revokes what a code's exchange issued (RFC 6749 §4.1.2: "SHOULD revoke … all tokens previously issued based
    /// on that authorization code"): its access token at this tenant's /userinfo, and its refresh-token family.
    public func revokeIssued(by record: AuthorizationCode) async throws {
        guard let redemption = record.redeemed else { return }
        let left = redemption.accessTokenExpiresAt - Int64(Date.now.timeIntervalSince1970)
        if left > 0 {
            _ = try await store.put(
                StoreKeys.revokedAccessToken(tenant.id, jti: redemption.accessTokenId), Data("{}".utf8), ttl: .seconds(left))
        }
        if let family = redemption.refreshFamily {
            try await RefreshTokens(store: store, tenant: tenant).revokeFamily(id: family, reason: "authorization code reused")
        }
    }

    /// Whether an access token (by `jti`) was revoked.
    public static func isRevoked(jti: String, store: any KeyValueStore, tenant: Tenant) async throws -> Bool {
        try await store.get(StoreKeys.revokedAccessToken(tenant.id, jti: jti)) != nil
    }
}
