import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// /authorize's rules as values, in-process (milliseconds): where each error goes (page or callback), PKCE,
/// prompt and max_age, sessions' lifetimes and cookies, and an authorization code's single use and short life.
/// The browser stories (tests/test_authorize.py, test_browser_login.py) run the same rules through real processes.
@Suite("Authorization requests, sessions and codes")
struct AuthorizationTests {
    static let callback = "https://app.example.com/callback"

    static func tenant(issuer: String = "https://login.example.com/") -> Tenant {
        Tenant(id: "ten_authz", issuer: issuer, domains: ["login.example.com"], defaultConnection: "db", settings: .init(), createdAt: .now)
    }

    static func application(public isPublic: Bool = false, grants: [GrantType] = [.authorizationCode], firstParty: Bool = true)
        -> Application
    {
        var app = Application(
            clientId: "app1", name: "App", kind: isPublic ? .spa : .regularWeb, secretHash: isPublic ? nil : "x", grantTypes: grants,
            createdAt: .now)
        app.callbacks = [callback]
        app.webOrigins = ["https://app.example.com"]
        app.authMethod = isPublic ? Application.AuthMethod.none : .clientSecretPost
        app.isFirstParty = firstParty
        return app
    }

    static func parse(_ query: [(String, String)], app: Application = application()) async throws -> AuthorizationRequest {
        try await AuthorizationRequest.parse(
            query, application: { $0 == app.clientId ? app : nil }, api: { _ in nil }, tenant: tenant())
    }

    static func base(_ extra: [(String, String)] = []) -> [(String, String)] {
        [("client_id", "app1"), ("redirect_uri", callback), ("response_type", "code"), ("state", "s1")] + extra
    }

    /// The failure a request gets: "page:<error>" or "redirect:<error>".
    static func outcome(_ query: [(String, String)], app: Application = application()) async -> String {
        do {
            _ = try await parse(query, app: app)
            return "ok"
        } catch AuthorizationFailure.page(_, let error, _) {
            return "page:" + error
        } catch AuthorizationFailure.redirect(let request, let error, _) {
            return "redirect:" + error + (request.state == "s1" ? "" : " (state lost)")
        } catch {
            return "thrown:\(error)"
        }
    }

    @Test("no trustworthy callback: an error page, never a redirect (unknown client, unregistered or duplicated redirect_uri)")
    func errorsWithoutACallbackArePages() async {
        #expect(await Self.outcome([("client_id", "nobody"), ("redirect_uri", Self.callback)]) == "page:invalid_request")
        #expect(await Self.outcome([("redirect_uri", Self.callback)]) == "page:invalid_request")
        #expect(
            await Self.outcome(Self.base().map { $0.0 == "redirect_uri" ? ($0.0, "https://evil.example.com/cb") : $0 })
                == "page:invalid_request")
        #expect(await Self.outcome(Self.base([("redirect_uri", Self.callback)])) == "page:invalid_request")
    }

    @Test("every other error goes back to the callback, with the state")
    func otherErrorsRedirect() async {
        #expect(await Self.outcome(Self.base().filter { $0.0 != "response_type" }) == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("state", "again")])) == "redirect:invalid_request (state lost)")
        #expect(
            await Self.outcome([
                ("client_id", "app1"), ("redirect_uri", Self.callback), ("response_type", "code id_token"), ("state", "s1"),
            ])
                == "redirect:unsupported_response_type")
        #expect(await Self.outcome(Self.base([("prompt", "none login")])) == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("prompt", "bogus")])) == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("max_age", "-1")])) == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("max_age", "soon")])) == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("request", "eyJ...")])) == "redirect:request_not_supported")
        #expect(await Self.outcome(Self.base([("response_mode", "query.jwt")])) == "redirect:invalid_request")
    }

    @Test("implicit needs the application's implicit grant, a nonce, and no query response mode")
    func implicitRules() async {
        let implicitApp = Self.application(grants: [.authorizationCode, .implicit])
        let idToken = [("client_id", "app1"), ("redirect_uri", Self.callback), ("response_type", "id_token"), ("state", "s1")]
        #expect(await Self.outcome(idToken + [("nonce", "n")]) == "redirect:unauthorized_client")
        #expect(await Self.outcome(idToken, app: implicitApp) == "redirect:invalid_request")
        #expect(
            await Self.outcome(idToken + [("nonce", "n"), ("response_mode", "query")], app: implicitApp)
                == "redirect:unsupported_response_mode")
        #expect(await Self.outcome(idToken + [("nonce", "n")], app: implicitApp) == "ok")
        let parsed = try? await Self.parse(idToken + [("nonce", "n")], app: implicitApp)
        #expect(parsed?.responseMode == .fragment, "tokens default to the fragment")
    }

    @Test("PKCE: S256 only, well-formed, and required of public clients")
    func pkceRules() async {
        let spa = Self.application(public: true)
        let challenge = Base64URL.encode(Digest.sha256("a-verifier-that-is-long-enough-to-be-valid-0123456789"))
        #expect(await Self.outcome(Self.base(), app: spa) == "redirect:invalid_request")
        #expect(
            await Self.outcome(Self.base([("code_challenge", challenge)]), app: spa) == "redirect:invalid_request", "no method means plain")
        #expect(
            await Self.outcome(Self.base([("code_challenge", challenge), ("code_challenge_method", "plain")]), app: spa)
                == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("code_challenge_method", "S256")]), app: spa) == "redirect:invalid_request")
        #expect(
            await Self.outcome(Self.base([("code_challenge", "short"), ("code_challenge_method", "S256")]), app: spa)
                == "redirect:invalid_request")
        #expect(await Self.outcome(Self.base([("code_challenge", challenge), ("code_challenge_method", "S256")]), app: spa) == "ok")
        #expect(await Self.outcome(Self.base()) == "ok", "a confidential client may go without")
        #expect(PKCE.verifies("a-verifier-that-is-long-enough-to-be-valid-0123456789", challenge: challenge))
        #expect(!PKCE.verifies("another-verifier-that-is-long-enough-to-be-valid-012345", challenge: challenge))
    }

    @Test("web_message posts only to a registered web origin: otherwise a page, and nothing is posted")
    func webMessageNeedsARegisteredOrigin() async {
        var app = Self.application()
        #expect(await Self.outcome(Self.base([("response_mode", "web_message")]), app: app) == "ok")
        app.webOrigins = []
        #expect(await Self.outcome(Self.base([("response_mode", "web_message")]), app: app) == "page:invalid_request")
    }

    @Test("a session answers unless prompt=login or max_age ask for a fresh login (max_age=0 always does)")
    func needsLogin() {
        let now = Int64(Date.now.timeIntervalSince1970)
        let session = BrowserSession(
            userId: "u", connection: "db", authTime: now - 100, createdAt: now - 100, lastActiveAt: now, sid: "sid", clients: [])
        var request = AuthorizationRequest(
            clientId: "app1", redirectURI: Self.callback, redirectURISent: true, responseType: .init("code")!, responseMode: .query,
            scopes: [], prompt: [])
        #expect(!AuthorizeEndpoint.needsLogin(request, session: session))
        #expect(AuthorizeEndpoint.needsLogin(request, session: nil))
        request.prompt = ["login"]
        #expect(AuthorizeEndpoint.needsLogin(request, session: session))
        request.prompt = []
        request.maxAge = 1000
        #expect(!AuthorizeEndpoint.needsLogin(request, session: session))
        request.maxAge = 10
        #expect(AuthorizeEndpoint.needsLogin(request, session: session))
        request.maxAge = 0
        #expect(
            AuthorizeEndpoint.needsLogin(
                request,
                session: BrowserSession(
                    userId: "u", connection: "db", authTime: now, createdAt: now, lastActiveAt: now, sid: "s", clients: [])))
    }

    @Test("sessions end after 3 idle days or 7 days in all (Auth0's defaults), whichever comes first")
    func sessionLifetimes() {
        let settings = Tenant.Settings()
        #expect(settings.sessionIdleLifetime == 3 * 86_400 && settings.sessionAbsoluteLifetime == 7 * 86_400)
        let session = BrowserSession(userId: "u", connection: "db", authTime: 0, createdAt: 0, lastActiveAt: 0, sid: "s", clients: [])
        #expect(session.expiresAt(settings) == 3 * 86_400)
        var active = session
        active.lastActiveAt = 6 * 86_400
        #expect(active.expiresAt(settings) == 7 * 86_400, "activity never extends past the absolute limit")
    }

    @Test("an expired or unknown session cookie is no session; the store keeps only the id's hash")
    func expiredSessionsAreGone() async throws {
        let store = try StoreBackend.sqlite.make().0
        let tenant = Self.tenant()
        let sessions = Sessions(store: store, tenant: tenant)
        let (id, _) = try await sessions.start(userId: "auth0|u", connection: "db", replacing: nil)
        #expect(try await store.get(StoreKeys.session(tenant.id, hash: Digest.sha256Hex(id))) != nil)
        #expect(try await store.list(prefix: StoreKeys.sessions(tenant.id)).allSatisfy { !$0.key.contains(id) })
        #expect(try await sessions.current(Self.request(cookies: ["auth0=" + id]))?.id == id)
        #expect(try await sessions.current(Self.request(cookies: ["auth0_compat=" + id]))?.id == id, "the compat cookie alone works")
        #expect(try await sessions.current(Self.request(cookies: ["auth0=not-a-session"])) == nil)
        // Idle for longer than the tenant allows.
        let now = Int64(Date.now.timeIntervalSince1970)
        let stale = BrowserSession(
            userId: "auth0|u", connection: "db", authTime: now - 300_000, createdAt: now - 300_000, lastActiveAt: now - 260_000, sid: "s",
            clients: [])
        _ = try await store.putJSON(StoreKeys.session(tenant.id, hash: Digest.sha256Hex("stale")), stale)
        #expect(try await sessions.current(Self.request(cookies: ["auth0=stale"])) == nil)
        // A new login replaces the browser's old session.
        let (next, _) = try await sessions.start(userId: "auth0|u", connection: "db", replacing: id)
        #expect(try await sessions.current(Self.request(cookies: ["auth0=" + id])) == nil)
        #expect(try await sessions.current(Self.request(cookies: ["auth0=" + next]))?.id == next)
    }

    @Test("session cookies: HttpOnly and host-only always; Secure and SameSite=None over https; auth0_compat has no SameSite")
    func sessionCookies() throws {
        let store = try StoreBackend.sqlite.make().0
        let https = Sessions(store: store, tenant: Self.tenant()).cookies("abc")
        #expect(
            https.map(\.headerValue) == [
                "auth0=abc; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=None",
                "auth0_compat=abc; Path=/; Max-Age=604800; HttpOnly; Secure",
            ])
        let http = Sessions(store: store, tenant: Self.tenant(issuer: "http://127.0.0.1:3000/")).cookies("abc")
        #expect(http[0].headerValue == "auth0=abc; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax", "browsers refuse None without Secure")
        #expect(!http.contains { $0.headerValue.contains("Domain=") })
    }

    @Test("a code is spent once, lives five minutes, and names the tokens a replay must revoke")
    func codesAreSingleUseAndShortLived() async throws {
        let store = try StoreBackend.sqlite.make().0
        let tenant = Self.tenant()
        let codes = AuthorizationCodes(store: store, tenant: tenant)
        let app = Self.application()
        let request = try await Self.parse(Self.base())
        let session = BrowserSession(
            userId: "auth0|u", connection: "db", authTime: 1, createdAt: 1, lastActiveAt: 1, sid: "sid1", clients: [])
        let code = try await codes.mint(request, session: session)
        let spent = try await codes.redeem(
            code, client: app, redirectURI: Self.callback, verifier: nil, accessTokenId: "jti1", accessTokenExpiresAt: .max / 2,
            refreshFamily: "fam1")
        #expect(spent.sid == "sid1" && spent.redeemed?.accessTokenId == "jti1")
        await #expect(throws: AuthorizationCodes.Failure.self) {
            _ = try await codes.redeem(
                code, client: app, redirectURI: Self.callback, verifier: nil, accessTokenId: "jti2", accessTokenExpiresAt: 0,
                refreshFamily: nil)
        }
        try await codes.revokeIssued(by: spent)
        #expect(try await AuthorizationCodes.isRevoked(jti: "jti1", store: store, tenant: tenant))
        #expect(try await store.get(StoreKeys.refreshTokenFamily(tenant.id, "fam1")) != nil)

        // Six minutes old: refused, and not spent by the refusal's caller.
        let old = try await codes.mint(request, session: session)
        let key = StoreKeys.authorizationCode(tenant.id, hash: Digest.sha256Hex(old))
        var record = try #require(try await store.getJSON(AuthorizationCode.self, key)).0
        record.issuedAt -= 360
        _ = try await store.putJSON(key, record)
        do {
            _ = try await codes.redeem(
                old, client: app, redirectURI: Self.callback, verifier: nil, accessTokenId: "j", accessTokenExpiresAt: 0, refreshFamily: nil
            )
            Issue.record("an expired code was accepted")
        } catch AuthorizationCodes.Failure.invalid(let why) {
            #expect(why.contains("expired"))
        }
    }

    @Test("sign-ups: database connections without disable_signup, never while in import mode; Auth0's 'good' passwords")
    func signUpRules() {
        var connection = Connection(id: "con_1", name: "db", strategy: .database, options: [:], createdAt: .now)
        #expect(SignUp.allowed(on: connection))
        connection.options["disable_signup"] = true
        #expect(!SignUp.allowed(on: connection))
        connection.options = ["import_mode": true]
        #expect(!SignUp.allowed(on: connection), "the old tenant may hold the email: a local sign-up would shadow it")
        connection.options = [:]
        connection.strategy = .init(rawValue: "google-oauth2")
        #expect(!SignUp.allowed(on: connection))
        for weak in ["alllowercase1", "ALLUPPER!!", "Sh0rt!", "12345678"] {
            #expect(!SignUp.isStrong(weak), "\(weak)")
        }
        for strong in ["Str0ng-enough", "lower1upper2X", "pass word!1", "short1A!"] {
            #expect(SignUp.isStrong(strong), "\(strong)")
        }
    }

    static func request(cookies: [String]) -> FunctionRequest {
        var event = GatewayEvent(
            routeKey: "GET /authorize", rawPath: "/authorize", rawQueryString: "", headers: ["host": "login.example.com"],
            queryStringParameters: nil, pathParameters: nil,
            requestContext: .init(
                domainName: "login.example.com", requestId: "r",
                http: .init(method: "GET", path: "/authorize", sourceIp: "127.0.0.1", userAgent: nil)),
            body: nil, isBase64Encoded: false)
        event.cookies = cookies
        return FunctionRequest(event: event, maxBodyBytes: 1 << 20)
    }
}
