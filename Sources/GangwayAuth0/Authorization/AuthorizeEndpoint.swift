import FoundationEssentials
import GangwayPlatform

/// `/authorize` and `/authorize/resume`: reads the request, answers from the browser session when it may, else
/// sends the browser to the hosted login page and answers once the login is done. `functions/authorize` reads
/// as the endpoint's specification; the mechanics live here.
public final class AuthorizeEndpoint: BrowserEndpoint {
    /// Runs the endpoint; a failure becomes a redirect to the callback or, without a trustworthy callback, a page.
    public static func answer(
        _ request: FunctionRequest, _ context: FunctionContext, _ body: (AuthorizeEndpoint) async throws -> GatewayResponse
    ) async throws -> GatewayResponse {
        // An unknown tenant (Host) is the gateway-level 404 in JSON, as on every route; the rest are pages.
        let endpoint = try await AuthorizeEndpoint(request: request, context: context)
        do {
            return try await body(endpoint)
        } catch AuthorizationFailure.page(let status, let error, let description) {
            return BrowserPage.error(status: status, error: error, description: description, trackingId: request.requestId)
        } catch AuthorizationFailure.redirect(let authorization, let error, let description) {
            var parameters = [("error", error), ("error_description", description)]
            if let state = authorization.state { parameters.append(("state", state)) }
            return AuthorizationResponse.render(authorization, parameters)
        } catch let thrown as any HTTPAnswerable where thrown.httpError.map({ $0.status < 500 }) == true {
            return BrowserPage.error(thrown.httpError!, trackingId: request.requestId)
        }
    }

    // MARK: - Reading the request

    /// The request's parameters: the query of a GET, the form of a POST (OIDC Core §3.1.2.1 allows both).
    public func parameters() throws -> [(String, String)] {
        if request.method == "POST" {
            guard (request.header("content-type") ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded"),
                let text = String(validating: try request.body(), as: UTF8.self), let pairs = FormURLEncoding.decode(text)
            else { throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "The body must be a form.") }
            return pairs
        }
        guard let pairs = FormURLEncoding.decode(request.event.rawQueryString) else {
            throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "The query string is malformed.")
        }
        return pairs
    }

    /// The application by client_id; read once per request (parsing, the silent path and the answer all ask).
    public func application(_ clientId: String) async throws -> Application? {
        if let read = applicationRead, read.clientId == clientId { return read }
        applicationRead = try await store.getCachedJSON(Application.self, StoreKeys.application(tenant.id, clientId))?.0
        return applicationRead
    }

    private var applicationRead: Application?

    /// Reads and validates the authorization request (`AuthorizationRequest.parse`).
    public func authorizationRequest() async throws -> AuthorizationRequest {
        try await AuthorizationRequest.parse(
            try parameters(), application: application,
            api: { try await ResourceServers(store: self.store, tenant: self.tenant).get(identifier: $0)?.0 }, tenant: tenant)
    }

    // MARK: - Sessions

    /// The browser's live session and its user, if the user may still log in (not deleted, not blocked).
    public func session() async throws -> (id: String, session: BrowserSession, user: User)? {
        guard let (id, session) = try await Sessions(store: store, tenant: tenant).current(request),
            let user = try await UserDirectory(store: store, tenant: tenant).activeUser(session.userId)
        else { return nil }
        return (id, session, user)
    }

    /// Whether a live session may answer without a login: `prompt=login` and `max_age` ask for a fresh one.
    public static func needsLogin(_ authorization: AuthorizationRequest, session: BrowserSession?) -> Bool {
        guard let session else { return true }
        if authorization.prompt.contains("login") { return true }
        // max_age=0 is prompt=login (OIDC Core §3.1.2.1); seconds are whole, so "older than 0 s" would miss it.
        if let maxAge = authorization.maxAge, maxAge == 0 || Int64(Date.now.timeIntervalSince1970) - session.authTime > Int64(maxAge) {
            return true
        }
        return false
    }

    /// Sends the browser to the hosted login page (the sign-up form for `screen_hint=signup`) with a new login
    /// transaction bound to it.
    public func redirectToLogin(_ authorization: AuthorizationRequest) async throws -> GatewayResponse {
        let started = try await LoginTransactions(store: store, tenant: tenant).begin(authorization)
        let screen = authorization.screenHint == "signup" ? "u/signup" : "u/login"
        var response = BrowserPage.redirect(tenant.issuer + screen + "?state=" + started.id)
        response.setCookie(started.cookie)
        return response
    }

    // MARK: - Answering

    /// Answers the authorization request from a session: a code, or (implicit) the tokens themselves, in the
    /// request's response mode. Records the activity on the session.
    public func respond(
        _ authorization: AuthorizationRequest, sessionId: String, session: BrowserSession, user: User
    ) async throws -> GatewayResponse {
        guard let app = try await application(authorization.clientId) else {
            throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "Unknown client: \(authorization.clientId)")
        }
        var parameters: [(String, String)] = []
        if authorization.responseType.code {
            parameters.append(("code", try await AuthorizationCodes(store: store, tenant: tenant).mint(authorization, session: session)))
        } else {
            parameters += try await implicitTokens(authorization, app: app, session: session, user: user)
        }
        if let state = authorization.state { parameters.append(("state", state)) }
        try await Sessions(store: store, tenant: tenant).touch(sessionId, session: session, client: app.clientId)
        return AuthorizationResponse.render(authorization, parameters)
    }

    /// The implicit grant's answer: an ID token (with `nonce`, `auth_time`, `sid`, and `at_hash` beside an access
    /// token) and/or an access token.
    func implicitTokens(
        _ authorization: AuthorizationRequest, app: Application, session: BrowserSession, user: User
    ) async throws -> [(String, String)] {
        let ring = try await KeyRing.load(store, tenant: tenant, secrets: try? SecretBox(configuration: configuration))
        let issuer = TokenIssuer(ring: ring)
        var grant = TokenGrant(
            client: app, subject: user.userId, user: user, audience: authorization.audience, scopes: authorization.scopes, gty: "implicit",
            nonce: authorization.nonce, authTime: session.authTime)
        grant.sid = session.sid
        if let audience = authorization.audience {
            grant.accessTokenLifetime = try await ResourceServers(store: store, tenant: tenant).get(identifier: audience)?.0.tokenLifetime
        }
        let now = Int64(Date.now.timeIntervalSince1970)
        var parameters: [(String, String)] = []
        var accessToken: String?
        if authorization.responseType.token {
            let token = try issuer.accessToken(grant, now: now)
            accessToken = token
            parameters += [
                ("access_token", token), ("token_type", "Bearer"), ("expires_in", String(issuer.accessTokenLifetime(grant))),
                ("scope", Scopes.string(authorization.scopes)),
            ]
        }
        if authorization.responseType.idToken {
            parameters.append(("id_token", try issuer.idToken(grant, user: user, now: now, accessToken: accessToken)))
        }
        return parameters
    }

}

/// How an authorization answer (or error) reaches the callback, in the request's response mode.
public enum AuthorizationResponse {
    public static func render(_ authorization: AuthorizationRequest, _ parameters: [(String, String)]) -> GatewayResponse {
        let uri = authorization.redirectURI
        switch authorization.responseMode {
        case .query:
            let separator = uri.contains("?") ? "&" : "?"
            return BrowserPage.redirect(uri + separator + FormURLEncoding.encode(parameters))
        case .fragment:
            return BrowserPage.redirect(uri + "#" + FormURLEncoding.encode(parameters))
        case .formPost:
            return BrowserPage.formPost(to: uri, parameters)
        case .webMessage:
            var response: [String: JSONValue] = [:]
            for (name, value) in parameters { response[name] = .string(value) }
            return BrowserPage.webMessage(to: CallbackURLs.origin(of: uri) ?? "null", response)
        }
    }
}
