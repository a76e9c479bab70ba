// GET|POST /u/login and /u/signup — the hosted login page (issue 13; shared/reference/auth0-authorize.md §2, §7, §9).
//
// GET: the form, for a login transaction this browser began at /authorize (its binding cookie). Each showing
// carries a new CSRF token. /u/signup shows the sign-up form where the connection allows sign-ups (a database
// connection without `disable_signup`, not in import mode), else the login form.
// POST: refused with a 403 page when it comes from another site (Origin, Sec-Fetch-Site), without this browser's
// transaction cookie, or without the CSRF token its page showed. Then:
// - /u/login: exactly the password grant's login: brute-force protection, the local hash, else the connection's
//   lazy-migration fallback to the old Auth0 tenant, the same log events (`s`, `fp`, `fu`, `limit_wc`, `spm`) and
//   one answer for every failure ("Wrong email or password."), shown on the form again (400).
// - /u/signup: a new user (email, Auth0's "good" password policy), `ss` (or `fs` with the form again, 400).
// Success starts a new browser session (cookies `auth0` and `auth0_compat`; a session the browser had is ended)
// and 303s to /authorize/resume, which answers the application.
import FoundationEssentials
import GangwayAuth0

struct LoginFunction: FunctionHandler {
    let name = "login"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let store = try context.store()
        // An unknown tenant (Host) is the gateway-level 404 in JSON, as on every route; the rest are pages.
        let tenant = try await TenantDirectory(store: store).tenant(for: request)
        do {
            return try await page(request, context, store, tenant)
        } catch let thrown as any HTTPAnswerable where thrown.httpError.map({ $0.status < 500 }) == true {
            // A malformed form (a parameter too long, a body that is not a form…): a page, like every answer here.
            return BrowserPage.error(thrown.httpError!, trackingId: request.requestId)
        }
    }

    func page(_ request: FunctionRequest, _ context: FunctionContext, _ store: any KeyValueStore, _ tenant: Tenant) async throws
        -> GatewayResponse
    {
        let transactions = LoginTransactions(store: store, tenant: tenant)
        func refuse(_ status: Int, _ why: String) -> GatewayResponse {
            BrowserPage.error(status: status, error: "invalid_request", description: why, trackingId: request.requestId)
        }

        if request.method == "POST" {
            // A cross-site form post is a login CSRF attempt whatever it carries.
            if let site = request.header("sec-fetch-site"), site != "same-origin" {
                return refuse(403, "Cross-site login requests are refused.")
            }
            // With `Referrer-Policy: no-referrer` browsers send `Origin: null` even for this page's own form: only a
            // real origin can be judged (Sec-Fetch-Site, the CSRF token and the transaction cookie still apply).
            if let origin = request.header("origin"), origin != "null", origin != CallbackURLs.origin(of: tenant.issuer) {
                return refuse(403, "Cross-site login requests are refused.")
            }
        }
        let parameters = request.method == "POST" ? try TokenParameters(request) : nil
        guard let id = try parameters?.optional("state") ?? request.query("state"),
            let transaction = try await transactions.get(id, from: request)
        else { return refuse(400, "The login session is unknown or has expired. Please go back to the application and start again.") }
        guard let app = try await store.getCachedJSON(Application.self, StoreKeys.application(tenant.id, transaction.request.clientId))?.0
        else { return refuse(400, "Unknown client: \(transaction.request.clientId)") }
        guard
            let connection = try await PasswordLogin(store: store, tenant: tenant).connection(
                named: transaction.request.connection ?? tenant.defaultConnection)
        else { return refuse(400, "the connection was not found") }
        let signUpAllowed = SignUp.allowed(on: connection)
        let screen: LoginPage.Screen = request.path.hasSuffix("/signup") && signUpAllowed ? .signup : .login

        func page(error: String? = nil, username: String? = nil, status: Int = 200) async throws -> GatewayResponse {
            LoginPage.render(
                .init(
                    screen: screen, applicationName: app.name, state: id, csrf: try await transactions.renewCSRF(id),
                    username: username ?? transaction.request.loginHint ?? "", error: error, signUpAllowed: signUpAllowed,
                    redirectURI: transaction.request.redirectURI), status: status)
        }
        guard let form = parameters else { return try await page() }
        guard LoginTransactions.csrfMatches(try form.optional("csrf"), transaction) else {
            return refuse(403, "Invalid or missing CSRF token. Please go back to the application and start again.")
        }

        let login = TokenEndpoint.forLoginPage(request, context, store: store, tenant: tenant, form: form, application: app)
        let username = try form.optional("username") ?? ""
        let user: User
        do {
            switch screen {
            case .login:
                user = try await login.passwordLogin(connection, username: username, password: try form.required("password"))
            case .signup:
                do {
                    user = try await SignUp.create(
                        email: username, password: try form.required("password"), connection: connection, store: store, tenant: tenant)
                } catch let thrown as any HTTPAnswerable where thrown.httpError != nil {
                    await login.record(.failedSignup, thrown.httpError!.message, userName: username, connection: connection.name)
                    throw thrown
                }
                await login.record(.successSignup, "Successful signup", user: user, connection: connection.name)
            }
        } catch let thrown as any HTTPAnswerable where thrown.httpError.map({ $0.status < 500 }) == true {
            return try await page(error: thrown.httpError!.message, username: username, status: 400)
        }
        let sessions = Sessions(store: store, tenant: tenant)
        let old = try await sessions.current(request)?.id
        let (sessionId, _) = try await sessions.start(userId: user.userId, connection: connection.name, replacing: old)
        try await transactions.complete(id, sessionId: sessionId)
        await login.record(.successLogin, "Successful login", user: user, connection: connection.name)
        // 303: the browser follows with a GET, never re-posting the password (RFC 9700 §4.12).
        var response = BrowserPage.redirect(tenant.issuer + "authorize/resume?state=" + id, status: 303)
        for cookie in sessions.cookies(sessionId) { response.setCookie(cookie) }
        return response
    }
}

await Function.run(LoginFunction())
