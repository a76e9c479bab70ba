import FoundationEssentials
import GangwayPlatform

/// One request to `POST /oauth/token`: its tenant, parameters, client and the tenant log it writes to.
/// `functions/token/main.swift` reads as the endpoint's specification; the mechanics live here.
public final class TokenEndpoint {
    public let request: FunctionRequest
    public let store: any KeyValueStore
    public let tenant: Tenant
    public let parameters: TokenParameters
    public let log: TenantLog
    /// The function's configuration (`GANGWAY_SECRET_KEY` opens upstream secrets).
    public let configuration: Configuration
    /// Set once the grant type is known: failures are then logged as that grant's failure event.
    public var grantType: GrantType?
    public private(set) var client: AuthenticatedClient?
    /// True once the outcome has its own log entry (`fp`, `fu`, `limit_wc`, `ferrt`, a success…).
    private var logged = false

    /// Token answers are never cached (RFC 6749 §5.1), errors included.
    public static let noStore = ["cache-control": "no-store", "pragma": "no-cache"]

    convenience init(request: FunctionRequest, context: FunctionContext) async throws {
        // The reads a grant will make are announced as soon as their keys are known (`readAhead`), and fetched together.
        let store = ReadAheadStore(try context.store())
        let parameters = try TokenParameters(request)
        let tenant = try await TenantDirectory(store: store).tenant(for: request) { Self.firstReads(request, parameters, tenantId: $0) }
        self.init(request: request, context: context, store: store, tenant: tenant, parameters: parameters)
    }

    /// What every grant reads first, fetched with the tenant's record: the signing keys, the application named (body
    /// or Basic credentials) and a refresh grant's token (one in Gangway's format). A parameter that does not parse
    /// is left to the step that reads it (its error, in its order).
    static func firstReads(_ request: FunctionRequest, _ parameters: TokenParameters, tenantId: String) -> [String] {
        var keys = [StoreKeys.signingKeys(tenantId)]
        if let id = (try? parameters.optional("client_id")) ?? (try? ClientAuthentication.basicCredentials(request))?.id {
            keys.append(StoreKeys.application(tenantId, id))
        }
        if (try? parameters.optional("grant_type")) == GrantType.refreshToken.rawValue,
            let presented = try? parameters.optional("refresh_token"), RefreshTokens.isGangwayFormat(presented)
        {
            keys.append(StoreKeys.refreshToken(tenantId, hash: RefreshTokens.hash(presented)))
        }
        return keys
    }

    init(request: FunctionRequest, context: FunctionContext, store: any KeyValueStore, tenant: Tenant, parameters: TokenParameters) {
        self.request = request
        self.store = store
        self.tenant = tenant
        log = TenantLog(store: store, tenant: tenant, logger: context.logger)
        configuration = context.configuration
        self.parameters = parameters
    }

    /// Runs the endpoint and turns its result or error into an answer that carries `Cache-Control: no-store`.
    public static func answer(
        _ request: FunctionRequest, _ context: FunctionContext, _ body: (TokenEndpoint) async throws -> [String: JSONValue]
    ) async throws -> GatewayResponse {
        var endpoint: TokenEndpoint?
        var response: GatewayResponse
        do {
            let token = try await TokenEndpoint(request: request, context: context)
            endpoint = token
            if request.method == "OPTIONS" { return try await CORS.preflight(request, store: token.store, tenant: token.tenant) }
            response = try .json(200, try await body(token), headers: noStore)
        } catch let thrown as any HTTPAnswerable where thrown.httpError != nil {
            var error = thrown.httpError!
            await endpoint?.logFailure(error)
            error.headers.merge(noStore) { current, _ in current }
            response = ErrorShape.oauth.response(for: error)
        }
        // A browser application's call: answered to its origin when the application registered it (errors too, so
        // that the application can read why).
        if let endpoint, let origin = request.header("origin") {
            let app = try? await endpoint.callingApplication()
            response.headers.merge(CORS.headers(origin: origin, app: app)) { _, new in new }
        }
        return response
    }

    /// The application the request names (authenticated or not): whose registered origins CORS answers.
    func callingApplication() async throws -> Application? {
        if let client { return client.application }
        guard let id = try parameters.optional("client_id") ?? ClientAuthentication.basicCredentials(request)?.id else { return nil }
        return try await store.getCachedJSON(Application.self, StoreKeys.application(tenant.id, id))?.0
    }

    /// The password-login steps for the hosted login page (`functions/login`): the same brute-force protection,
    /// upstream fallback and log events as the password grant, on behalf of the application whose `/authorize`
    /// began the login (a browser proves no client secret; its IP is the caller's). The page has already read the
    /// tenant and the form: they are handed over, not read again.
    public static func forLoginPage(
        _ request: FunctionRequest, _ context: FunctionContext, store: any KeyValueStore, tenant: Tenant, form: TokenParameters,
        application: Application
    ) -> TokenEndpoint {
        let endpoint = TokenEndpoint(request: request, context: context, store: store, tenant: tenant, parameters: form)
        endpoint.client = AuthenticatedClient(application: application, authenticated: false)
        return endpoint
    }

    // MARK: - Steps every grant shares

    public func authenticateClient() async throws -> AuthenticatedClient {
        let client = try await ClientAuthentication.authenticate(request, parameters, store: store, tenant: tenant)
        self.client = client
        return client
    }

    /// The API an `audience` names; nil when none was sent. 403 `access_denied` "Service not found: <aud>".
    public func api(_ audience: String?) async throws -> ResourceServer? {
        guard let audience else { return nil }
        guard let (api, _) = try await ResourceServers(store: store, tenant: tenant).get(identifier: audience) else {
            throw HTTPError(403, "access_denied", "Service not found: \(audience)")
        }
        apiRead = api
        return api
    }

    /// The API `api(_:)` read for this request, so that `issue` does not read it again.
    private var apiRead: ResourceServer?

    /// The end user's IP: `auth0-forwarded-for` when an authenticated confidential client relays it, else the caller's.
    public var ip: String {
        if client?.authenticated == true, let forwarded = request.header("auth0-forwarded-for") {
            let first = forwarded.split(separator: ",").first.map { String($0.filter { $0 != " " }) } ?? ""
            if !first.isEmpty { return first }
        }
        return request.sourceIP
    }

    public func record(
        _ type: LogEventType, _ description: String, user: User? = nil, userId: String? = nil, userName: String? = nil,
        connection: String? = nil,
        details: [String: JSONValue]? = nil
    ) async {
        logged = true
        await log.record(entry(type, description, user: user, userId: userId, userName: userName, connection: connection, details: details))
    }

    /// This request's log event: its client and caller's IP with what happened.
    func entry(
        _ type: LogEventType, _ description: String, user: User? = nil, userId: String? = nil, userName: String? = nil,
        connection: String? = nil, details: [String: JSONValue]? = nil
    ) -> LogEntry {
        LogEntry(
            type: type, description: description, clientId: client?.clientId ?? (try? parameters.optional("client_id")) ?? nil,
            userId: user?.userId ?? userId, userName: userName ?? user?.email ?? user?.username,
            connection: connection ?? user?.connection, ip: ip, details: details
        )
    }

    private func logFailure(_ error: HTTPError) async {
        guard !logged, let grantType else { return }
        let type: LogEventType =
            switch grantType {
            case .refreshToken: .failedRefreshTokenExchange
            case .clientCredentials: .failedClientCredentialsExchange
            case .authorizationCode: .failedCodeExchange
            default: .failedPasswordExchange
            }
        await record(type, error.message, userName: try? parameters.optional("username"), connection: try? parameters.optional("realm"))
    }

    // MARK: - Password grants

    /// The database connection a password grant logs in to. Unknown: 400 `invalid_request` "the connection was
    /// not found" (Auth0's documented wording).
    public func databaseConnection(named name: String) async throws -> Connection {
        guard let connection = try await PasswordLogin(store: store, tenant: tenant).connection(named: name) else {
            throw HTTPError.badRequest("the connection was not found")
        }
        return connection
    }

    public static let wrongPassword = HTTPError(403, "invalid_grant", "Wrong email or password.")

    /// Checks the password (brute-force protection first, then the local hash, else the connection's upstream
    /// fallback) and logs `fp`, `fu`, `limit_wc` or `fepft`; `spm` when the upstream vouched (a migration).
    /// Every upstream failure answers as a wrong password; its cause goes to the log entry's `details.upstream`.
    public func passwordLogin(_ connection: Connection, username: String, password: String) async throws -> User {
        let c = connection.name
        do {
            let outcome = try await PasswordLogin(store: store, tenant: tenant).login(
                connection: connection, username: username, password: password, endUserIP: ip,
                secrets: try? SecretBox(configuration: configuration)
            )
            if let identity = outcome.migrated {
                await record(
                    .successPasswordMigration, "Successful password migration", user: outcome.user, userName: username, connection: c,
                    details: [
                        "upstream_sub": .string(identity.sub), "created": .bool(outcome.created),
                        "attempts": .int(Int64(identity.attempts)), "elapsed_ms": .int(Int64(identity.elapsedMs)),
                    ]
                )
            }
            if let algorithm = outcome.rehashed {
                await record(
                    .successPasswordMigration, "Imported \(algorithm.rawValue) password hash replaced by Gangway's bcrypt",
                    user: outcome.user, userName: username, connection: c, details: ["imported_algorithm": .string(algorithm.rawValue)])
            }
            // A linked secondary account logs in as its primary user (tokens carry the primary's sub).
            let user = try await UserDirectory(store: store, tenant: tenant).resolveLinked(outcome.user)
            guard !user.blocked else { throw PasswordLogin.Failure.blocked(user) }
            return user
        } catch PasswordLogin.Failure.upstream(let failure, let user) {
            await record(
                user == nil ? .failedLoginUnknownUser : .failedLoginWrongPassword, "Wrong email or password.", user: user,
                userName: username, connection: c, details: failure.details)
            throw Self.wrongPassword
        } catch PasswordLogin.Failure.throttled {
            await record(.blockedAccount, "Too many consecutive login attempts; the account is blocked.", userName: username, connection: c)
            throw LoginThrottle.blocked
        } catch PasswordLogin.Failure.unknownUser {
            await record(.failedLoginUnknownUser, "Wrong email or password.", userName: username, connection: c)
            throw Self.wrongPassword
        } catch PasswordLogin.Failure.wrongPassword(let user) {
            await record(.failedLoginWrongPassword, "Wrong email or password.", user: user, userName: username, connection: c)
            throw Self.wrongPassword
        } catch PasswordLogin.Failure.blocked(let user) {
            await record(.failedPasswordExchange, "user is blocked", user: user, userName: username, connection: c)
            throw HTTPError(401, "unauthorized", "user is blocked")
        }
    }

    // MARK: - Refresh tokens

    /// A refresh grant: redeems (rotates) `token` once `grant` has accepted what it stands for and said what to issue
    /// (what `grant` throws passes through). The tokens are signed before anything is written, so that the rotation
    /// and its success event are one store batch: one transaction per grant. `ferrt` on reuse.
    public func refresh(_ token: String, _ grant: (RefreshTokens.Record) async throws -> TokenGrant) async throws -> [String: JSONValue] {
        guard let client else { throw ClientAuthentication.unauthorized }
        var body: [String: JSONValue] = [:]
        var success: (event: LogEntry, inBatch: Bool)?
        do {
            _ = try await RefreshTokens(store: store, tenant: tenant).redeem(
                token, clientId: client.clientId, policy: RefreshPolicy(application: client.application, tenant: tenant),
                // What the grant reads next (the user it speaks for, the API it is for) goes with the family's read.
                readAhead: { [tenant] in
                    [StoreKeys.user(tenant.id, $0.userId)] + ($0.audience.map { [StoreKeys.resourceServer(tenant.id, $0)] } ?? [])
                },
                using: { old, replacement in
                    let issued = try await grant(old)
                    body = try await sign(issued, refreshToken: replacement)
                    let event = entry(
                        .successRefreshTokenExchange, "Successful refresh token exchange", user: issued.user, connection: old.connection)
                    let write = try log.operation(for: event)
                    success = (event, write != nil)
                    return write.map { [$0] } ?? []
                }
            )
        } catch RefreshTokens.Failure.invalid(let why) {
            await record(.failedRefreshTokenExchange, "Unknown or invalid refresh token: \(why).")
            throw RefreshTokens.invalid
        } catch RefreshTokens.Failure.reused(let old) {
            await record(
                .refreshTokenReused, "A rotated refresh token was reused; its family has been revoked.", userId: old.userId,
                connection: old.connection)
            throw RefreshTokens.invalid
        }
        if let success {
            logged = true
            if success.inBatch { log.announce(success.event) } else { await log.record(success.event) }
        }
        return body
    }

    /// The user a refresh token speaks for (its primary, when it has since been linked as a secondary),
    /// if they still exist and are not blocked.
    public func activeUser(_ userId: String) async throws -> User {
        guard let user = try await UserDirectory(store: store, tenant: tenant).activeUser(userId) else {
            throw RefreshTokens.Failure.invalid("the user is gone or blocked")
        }
        return user
    }

    // MARK: - Authorization codes

    /// Auth0's answer to every refused code (unknown, expired, used, another client's, another redirect_uri).
    public static let invalidCode = HTTPError(403, "invalid_grant", "Invalid authorization code")

    /// Exchanges an authorization code once. A second use answers `invalid_grant` and revokes what the first
    /// exchange issued (RFC 6749 §4.1.2). Returns the code's record and the ids the tokens must be issued under.
    public func redeemAuthorizationCode(
        _ code: String, redirectURI: String?, verifier: String?
    ) async throws -> (code: AuthorizationCode, tokenId: String, refreshFamily: String) {
        guard let client else { throw ClientAuthentication.unauthorized }
        let tokenId = Random.token(bytes: 16)
        let family = Random.token(bytes: 16)
        let codes = AuthorizationCodes(store: store, tenant: tenant)
        do {
            let record = try await codes.redeem(
                code, client: client.application, redirectURI: redirectURI, verifier: verifier, accessTokenId: tokenId,
                // At most the longest lifetime an access token can have here: the record only needs to outlive it.
                accessTokenExpiresAt: Int64(Date.now.timeIntervalSince1970) + Int64(AuthorizationCode.memory), refreshFamily: family)
            return (record, tokenId, family)
        } catch AuthorizationCodes.Failure.reused(let spent) {
            try await codes.revokeIssued(by: spent)
            await record(.failedCodeExchange, "Authorization code reused; the tokens it gave are revoked.", userId: spent.userId)
            throw Self.invalidCode
        } catch AuthorizationCodes.Failure.invalid(let why) {
            await record(.failedCodeExchange, "Invalid authorization code: \(why).")
            throw Self.invalidCode
        } catch AuthorizationCodes.Failure.verifier(let why) {
            await record(.failedCodeExchange, why)
            throw HTTPError(403, "invalid_grant", why)
        }
    }

    // MARK: - Client credentials

    /// The client grant letting `client` call `api`; 403 `access_denied` in Auth0's words when there is none.
    public func clientGrant(_ client: AuthenticatedClient, _ api: ResourceServer) async throws -> ClientGrant {
        guard let (grant, _) = try await store.getJSON(ClientGrant.self, StoreKeys.clientGrant(tenant.id, client.clientId, api.identifier))
        else {
            throw HTTPError(
                403, "access_denied",
                "Client is not authorized to access \"\(api.identifier)\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
            )
        }
        return grant
    }

    // MARK: - Issuing

    /// Signs the grant's tokens, starts a refresh-token family when a user was granted `offline_access` (unless
    /// `refreshToken` is the one to hand out: a re-minted upstream token's replacement), and logs `successType`.
    /// (A refresh grant of Gangway's own tokens goes through `refresh(_:_:)`.)
    public func issue(
        _ grant: TokenGrant, connection: String? = nil, refreshToken: String? = nil,
        refreshFamily: String? = nil, successType: LogEventType, description: String, details: [String: JSONValue]? = nil
    ) async throws -> [String: JSONValue] {
        var refresh = refreshToken
        if refresh == nil, let user = grant.user, grant.scopes.contains("offline_access") {
            refresh = try await RefreshTokens(store: store, tenant: tenant).issue(
                clientId: grant.client.clientId, userId: user.userId, connection: connection, scope: grant.scopes,
                audience: grant.audience, gty: grant.gty.stringValue ?? "password",
                authTime: grant.authTime ?? Int64(Date.now.timeIntervalSince1970),
                policy: RefreshPolicy(application: grant.client, tenant: tenant), familyId: refreshFamily
            )
        }
        let body = try await sign(grant, refreshToken: refresh)
        await record(successType, description, user: grant.user, connection: connection, details: details)
        return body
    }

    /// The token endpoint's answer for `grant`: its tokens signed with the tenant's current key.
    func sign(_ grant: TokenGrant, refreshToken: String?) async throws -> [String: JSONValue] {
        let ring = try await KeyRing.load(store, tenant: tenant, secrets: try? SecretBox(configuration: configuration))
        var grant = grant
        // The API's token_lifetime, for every grant (a refresh reads the API as it is now; the other grants read it
        // already, through `api(_:)`).
        if grant.accessTokenLifetime == nil, let audience = grant.audience {
            let api =
                apiRead?.identifier == audience
                ? apiRead : try await ResourceServers(store: store, tenant: tenant).get(identifier: audience)?.0
            grant.accessTokenLifetime = api?.tokenLifetime
        }
        return try TokenIssuer(ring: ring).response(grant, refreshToken: refreshToken)
    }
}
