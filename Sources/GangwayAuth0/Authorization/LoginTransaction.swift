import FoundationEssentials
import GangwayPlatform

/// An `/authorize` request waiting for its user on the hosted login page (`/u/login?state=<id>`), until the
/// login finishes at `/authorize/resume`. It is bound to the browser that began it twice over: a cookie only that
/// browser holds (`gangway_tx_<id>`), and a CSRF token only the login page shows; the store keeps just their hashes.
public struct LoginTransaction: Codable, Sendable {
    public var request: AuthorizationRequest
    public var bindingHash: String
    /// The CSRF token of the form last shown (each showing of the page makes a new one); nil before the first.
    public var csrfHash: String?
    public var createdAt: Int64
    /// Set by a successful login: the hash of the session id it started, which `/authorize/resume` must see in
    /// the browser's cookie.
    public var sessionHash: String?

    /// How long a user may take on the login page.
    public static let lifetime: Int64 = 3_600

    public static func cookieName(_ id: String) -> String { "gangway_tx_" + id }
}

/// The store of login transactions.
public struct LoginTransactions: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant

    public init(store: any KeyValueStore, tenant: Tenant) {
        self.store = store
        self.tenant = tenant
    }

    /// What the browser gets: the transaction id (the `state` of /u/login) and the binding cookie (only its hash
    /// is stored).
    public struct Started: Sendable {
        public let id: String
        public let cookie: SetCookie
    }

    func key(_ id: String) -> String { StoreKeys.loginTransaction(tenant.id, id) }
    static func lifetime(_: LoginTransaction) -> Duration? { .seconds(LoginTransaction.lifetime) }

    public func begin(_ request: AuthorizationRequest) async throws -> Started {
        let id = Random.token(bytes: 16)
        let binding = Random.token(bytes: 32)
        let transaction = LoginTransaction(
            request: request, bindingHash: Digest.sha256Hex(binding), csrfHash: nil, createdAt: Int64(Date.now.timeIntervalSince1970))
        _ = try await store.putJSON(key(id), transaction, ttl: .seconds(LoginTransaction.lifetime))
        var cookie = Self.cookie(id, tenant: tenant)
        cookie.value = binding
        return Started(id: id, cookie: cookie)
    }

    /// The binding cookie of transaction `id` (without its value). Lax: the login page and the resume are top-level
    /// navigations on this host.
    public static func cookie(_ id: String, tenant: Tenant) -> SetCookie {
        SetCookie(
            name: LoginTransaction.cookieName(id), value: "", maxAge: LoginTransaction.lifetime,
            secure: tenant.issuer.hasPrefix("https://"),
            sameSite: .lax)
    }

    /// The transaction `id` names, if it is still open and this browser began it (its binding cookie matches).
    public func get(_ id: String, from request: FunctionRequest) async throws -> LoginTransaction? {
        guard id.utf8.count <= 64, !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
            let (transaction, _) = try await store.getJSON(LoginTransaction.self, key(id)),
            let binding = request.cookie(LoginTransaction.cookieName(id)),
            Digest.constantTimeEquals(Array(Digest.sha256Hex(binding).utf8), Array(transaction.bindingHash.utf8))
        else { return nil }
        return transaction
    }

    /// Whether `csrf` is the token this transaction's page showed.
    public static func csrfMatches(_ csrf: String?, _ transaction: LoginTransaction) -> Bool {
        guard let csrf, !csrf.isEmpty, let expected = transaction.csrfHash else { return false }
        return Digest.constantTimeEquals(Array(Digest.sha256Hex(csrf).utf8), Array(expected.utf8))
    }

    /// A fresh CSRF token for the form about to be shown (the page, or the page again after a failed login).
    public func renewCSRF(_ id: String) async throws -> String {
        let csrf = Random.token(bytes: 32)
        try await store.update(LoginTransaction.self, at: key(id), ttl: Self.lifetime) { transaction in
            transaction?.csrfHash = Digest.sha256Hex(csrf)
        }
        return csrf
    }

    /// Marks the transaction as logged in by the session `sessionId`.
    public func complete(_ id: String, sessionId: String) async throws {
        try await store.update(LoginTransaction.self, at: key(id), ttl: Self.lifetime) { transaction in
            transaction?.sessionHash = Digest.sha256Hex(sessionId)
        }
    }

    /// Ends it (answered once, at /authorize/resume); true when this call did.
    @discardableResult public func finish(_ id: String) async throws -> Bool { try await store.delete(key(id)) }
}
