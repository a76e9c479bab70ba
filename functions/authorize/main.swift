// GET|POST /authorize and GET /authorize/resume — the OAuth 2.0 / OpenID Connect authorization endpoint as Auth0
// speaks it (issue 13; shared/reference/auth0-authorize.md §1–2).
//
// - An unknown client, or a redirect_uri not among the application's callbacks (Auth0's matching, incl. its
//   subdomain wildcard for first-party apps), gets a 400 error page: never a redirect.
// - Every other error goes back to the callback with `error`, `error_description` and `state`, in the request's
//   response mode (query, fragment, form_post, web_message).
// - With a live browser session (cookie `auth0`) it answers at once: a code, or for `implicit` applications the
//   tokens; `prompt=login` or an exceeded `max_age` ask for a new login. `prompt=none` never shows a page: without a
//   session it answers `login_required`, for a third-party application `consent_required` (no consent screen here).
// - Otherwise the browser goes to the hosted login page (`/u/login?state=<transaction>`), which comes back to
//   `/authorize/resume` after a successful login; the answer is given there, once per transaction.
// No CORS here (RFC 9700 §2.6): browsers navigate to this endpoint, scripts never call it.
import GangwayAuth0

struct AuthorizeFunction: FunctionHandler {
    let name = "authorize"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        try await AuthorizeEndpoint.answer(request, context) { endpoint in
            if request.path.hasSuffix("/resume") { return try await resume(endpoint) }

            let authorization = try await endpoint.authorizationRequest()
            let current = try await endpoint.session()
            let silent = authorization.prompt.contains("none")

            if silent {
                guard let (id, session, user) = current, !AuthorizeEndpoint.needsLogin(authorization, session: session) else {
                    await endpoint.record(.failedSilentAuth, "Login required", clientId: authorization.clientId)
                    throw AuthorizationFailure.redirect(authorization, error: "login_required", description: "Login required")
                }
                guard try await endpoint.application(authorization.clientId)?.isFirstParty != false else {
                    await endpoint.record(.failedSilentAuth, "Consent required", clientId: authorization.clientId, user: user)
                    throw AuthorizationFailure.redirect(authorization, error: "consent_required", description: "Consent required")
                }
                let answer = try await endpoint.respond(authorization, sessionId: id, session: session, user: user)
                await endpoint.record(.successSilentAuth, "Successful silent authentication", clientId: authorization.clientId, user: user)
                return answer
            }
            guard let (id, session, user) = current, !AuthorizeEndpoint.needsLogin(authorization, session: session) else {
                return try await endpoint.redirectToLogin(authorization)
            }
            return try await endpoint.respond(authorization, sessionId: id, session: session, user: user)
        }
    }

    /// After the login page: the transaction this browser began, completed by the session it now holds.
    func resume(_ endpoint: AuthorizeEndpoint) async throws -> GatewayResponse {
        let transactions = LoginTransactions(store: endpoint.store, tenant: endpoint.tenant)
        guard let id = endpoint.request.query("state"), let transaction = try await transactions.get(id, from: endpoint.request) else {
            throw AuthorizationFailure.page(
                status: 400, error: "invalid_request", description: "The login transaction is unknown or has expired. Please start again.")
        }
        guard let (sessionId, session, user) = try await endpoint.session(),
            transaction.sessionHash == Digest.sha256Hex(sessionId)
        else {
            // Not logged in (yet) in this browser: back to the form.
            return BrowserPage.redirect(endpoint.tenant.issuer + "u/login?state=" + id)
        }
        // One answer per transaction: of two racing resumes, one finishes it.
        guard try await transactions.finish(id) else {
            throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "The login transaction was already used.")
        }
        var answer = try await endpoint.respond(transaction.request, sessionId: sessionId, session: session, user: user)
        answer.setCookie(LoginTransactions.cookie(id, tenant: endpoint.tenant).deletion)
        return answer
    }
}

await Function.run(AuthorizeFunction())
