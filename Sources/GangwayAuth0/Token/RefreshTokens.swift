import FoundationEssentials
import GangwayPlatform

/// Refresh tokens. A token is opaque (`v1.` + 32 random bytes, base64url) and stored only as its SHA-256, under
/// `t/<tenant>/refresh-tokens/<hash>`, bound to client, user, scope and audience. How it behaves is the
/// application's `RefreshPolicy`, read at each use (a change of settings applies to tokens already out):
/// - rotating: each use rotates it: the old record is marked rotated (compare-and-swap, so two racing uses cannot
///   both rotate it) and a new token joins the same family, both in one store batch. The most recently rotated token
///   may be presented again within the leeway (two tabs refreshing at once); any other reuse revokes the whole family.
/// - non-rotating: the same token serves every refresh; each use only records when it was last used.
/// Lifetimes: absolute (from the family's first login, never extended) and idle (from the token's last issue or
/// use); either may be infinite.
public struct RefreshTokens: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    public static let invalid = HTTPError(403, "invalid_grant", "Unknown or invalid refresh token.")

    public struct Record: Codable, Sendable {
        public enum State: String, Codable, Sendable { case active, rotated }
        public var familyId: String
        public var clientId: String
        public var userId: String
        public var connection: String?
        public var scope: [String]
        public var audience: String?
        /// The grant the family started with (`password`), for the `gty` claim.
        public var gty: String
        /// When the user authenticated (unix seconds): `auth_time` in ID tokens.
        public var authTime: Int64
        /// When the family began (unix seconds); the absolute lifetime counts from here.
        public var familyCreatedAt: Int64
        public var issuedAt: Int64
        public var state: State
        public var rotatedAt: Int64?
        /// Hash of the token that replaced this one.
        public var successor: String?
    }

    struct FamilyRevocation: Codable {
        var revokedAt: Int64
        var reason: String
    }

    func key(_ hash: String) -> String { StoreKeys.refreshToken(tenant.id, hash: hash) }
    func familyKey(_ family: String) -> String { StoreKeys.refreshTokenFamily(tenant.id, family) }
    static func hash(_ token: String) -> String { Digest.sha256Hex(token) }
    static func now() -> Int64 { Int64(Date.now.timeIntervalSince1970) }

    /// When the family expires (unix seconds); nil: never.
    static func absoluteExpiry(_ record: Record, _ policy: RefreshPolicy) -> Int64? {
        policy.absoluteLifetime.map { record.familyCreatedAt + Int64($0) }
    }

    /// How long the store keeps a record: until its family expires (nil: for good).
    static func ttl(_ record: Record, _ policy: RefreshPolicy, now: Int64) -> Duration? {
        absoluteExpiry(record, policy).map { .seconds(max(1, $0 - now)) }
    }

    /// Starts a new family (a login) and returns its first token.
    public func issue(
        clientId: String, userId: String, connection: String?, scope: [String], audience: String?, gty: String, authTime: Int64,
        policy: RefreshPolicy, familyId: String? = nil
    ) async throws -> String {
        let now = Self.now()
        let record = Record(
            familyId: familyId ?? Random.token(bytes: 16), clientId: clientId, userId: userId, connection: connection, scope: scope,
            audience: audience, gty: gty, authTime: authTime, familyCreatedAt: now, issuedAt: now, state: .active
        )
        let token = "v1." + Random.token(bytes: 32)
        try await save(record, as: token, policy)
        return token
    }

    /// Writes a record under a fresh token (and `alongside` in the same batch).
    private func save(_ record: Record, as token: String, _ policy: RefreshPolicy, alongside: [StoreOperation] = []) async throws {
        let insert = try StoreOperation.insertJSON(key(Self.hash(token)), record, ttl: Self.ttl(record, policy, now: Self.now()))
        guard try await store.commit([insert] + alongside).committed else {
            throw HTTPError(500, "server_error", "Refresh token collision.")
        }
    }

    public enum Failure: Error, Sendable {
        /// Unknown, expired, revoked, or another client's: the caller answers `invalid_grant`.
        case invalid(String)
        /// A rotated token came back after the leeway: its family has been revoked.
        case reused(Record)
    }

    /// Redeems a token for `clientId` under its `policy`: returns the record it stood for and its replacement (nil
    /// when the policy does not rotate: the client keeps the token it has).
    /// `readAhead`: keys the caller will read once it has the record, fetched together with the token's family.
    /// `using` sees the record and its replacement before anything changes (user still active, scope allowed…; what
    /// it throws passes through) and returns writes that join the rotation's batch (the token endpoint signs there
    /// and hands back its success event: one write per grant). It may run again when another use raced this one.
    public func redeem(
        _ token: String, clientId: String, policy: RefreshPolicy, readAhead: (Record) -> [String] = { _ in [] },
        using: (Record, _ replacement: String?) async throws -> [StoreOperation] = { _, _ in [] }
    ) async throws -> (record: Record, replacement: String?) {
        let hash = Self.hash(token)
        for _ in 0..<StoreContention.attempts {
            let now = Self.now()
            guard let (record, version) = try await store.getJSON(Record.self, key(hash)) else {
                throw Failure.invalid("unknown refresh token")
            }
            guard record.clientId == clientId else { throw Failure.invalid("refresh token belongs to another client") }
            try await store.readAhead([familyKey(record.familyId)] + readAhead(record))
            if try await store.get(familyKey(record.familyId)) != nil { throw Failure.invalid("refresh token family revoked") }
            if let expiry = Self.absoluteExpiry(record, policy), now >= expiry {
                throw Failure.invalid("refresh token expired (absolute lifetime)")
            }
            if record.state == .active, let idle = policy.idleLifetime, now - record.issuedAt >= Int64(idle) {
                throw Failure.invalid("refresh token expired (idle lifetime)")
            }

            var next = record
            next.issuedAt = now
            next.state = .active
            next.rotatedAt = nil
            next.successor = nil

            switch record.state {
            case .active where !policy.rotating:
                let alongside = try await using(record, nil)
                // The same token again: only its last use is recorded (the idle lifetime counts from it).
                guard
                    try await store.commit(
                        [.compareAndSwapJSON(key(hash), expectedVersion: version, next, ttl: Self.ttl(record, policy, now: now))]
                            + alongside
                    ).committed
                else { continue }
                return (record, nil)

            case .active:
                // The replacement and the rotation of the old token are one batch: a crash cannot leave a
                // rotated token whose successor was never written, nor a successor of a token still active.
                let replacement = "v1." + Random.token(bytes: 32)
                let alongside = try await using(record, replacement)
                var rotated = record
                rotated.state = .rotated
                rotated.rotatedAt = now
                rotated.successor = Self.hash(replacement)
                let ttl = Self.ttl(record, policy, now: now)
                let outcome = try await store.commit(
                    [
                        .insertJSON(key(Self.hash(replacement)), next, ttl: ttl),
                        .compareAndSwapJSON(key(hash), expectedVersion: version, rotated, ttl: ttl),
                    ] + alongside)
                switch outcome {
                case .committed: return (record, replacement)
                case .conditionFailed(_, let failed) where failed != key(hash):
                    throw HTTPError(500, "server_error", "Refresh token collision.")
                case .conditionFailed:
                    // Someone rotated it first: judge the token again as a rotated one.
                    continue
                }

            case .rotated:
                // Only the most recently rotated token (its successor still unused) is forgiven, within the leeway.
                if let rotatedAt = record.rotatedAt, now - rotatedAt <= Int64(policy.leeway),
                    let successor = record.successor,
                    let (child, _) = try await store.getJSON(Record.self, key(successor)), child.state == .active
                {
                    let replacement = "v1." + Random.token(bytes: 32)
                    try await save(next, as: replacement, policy, alongside: try await using(record, replacement))
                    return (record, replacement)
                }
                try await revokeFamily(record, policy, reason: "rotated refresh token reused")
                throw Failure.reused(record)
            }
        }
        throw StoreError(.contention, "refresh token \(hash.prefix(8))… kept changing")
    }

    /// `POST /oauth/revoke`: revokes the whole family of `token` when it was issued to `clientId` (RFC 7009 §2.1).
    /// An unknown token or another client's changes nothing; the endpoint answers 200 either way, so a caller learns
    /// nothing about tokens it does not hold. Returns the revoked token's record.
    public func revoke(_ token: String, clientId: String, policy: RefreshPolicy) async throws -> Record? {
        guard let (record, _) = try await store.getJSON(Record.self, key(Self.hash(token))), record.clientId == clientId else {
            return nil
        }
        try await revokeFamily(record, policy, reason: "revoked by its client")
        return record
    }

    /// Revokes a family by its id, for good (its tokens' lifetimes depend on settings that may change later).
    public func revokeFamily(id: String, reason: String) async throws {
        _ = try await store.insertJSONIfAbsent(familyKey(id), FamilyRevocation(revokedAt: Self.now(), reason: reason), ttl: nil)
    }

    /// Revokes every token of a family at once (they all check the family before use), for as long as they live.
    func revokeFamily(_ record: Record, _ policy: RefreshPolicy, reason: String) async throws {
        _ = try await store.insertJSONIfAbsent(
            familyKey(record.familyId), FamilyRevocation(revokedAt: Self.now(), reason: reason),
            ttl: Self.ttl(record, policy, now: Self.now())
        )
    }
}
