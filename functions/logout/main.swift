// GET /v2/logout (Auth0's logout) and GET|POST /oidc/logout (OpenID Connect RP-Initiated Logout 1.0)
// (issue 13; shared/reference/auth0-authorize.md §4). Both end the browser session (its record and both cookies)
// and log `slo`; neither revokes refresh tokens (Auth0 neither).
//
// /v2/logout?returnTo&client_id[&federated]: returnTo must be one of the application's Allowed Logout URLs (the
// tenant's without client_id), its query and fragment aside; none given: the application's first one, else a
// "logged out" page. An unlisted returnTo: Auth0's error page, and the session stays.
// /oidc/logout?id_token_hint&post_logout_redirect_uri&client_id&state&logout_hint: the hint must be an ID token this
// tenant signed (client_id, when sent, its audience; logout_hint its sid); the URI must be registered exactly and
// needs a client (the hint's or client_id); state comes back with it. A bad hint or URI ends nothing.
import GangwayAuth0

struct LogoutFunction: FunctionHandler {
    let name = "logout"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        try await LogoutEndpoint.answer(request, context) { logout in
            let p = try logout.parameters()
            return request.path.hasPrefix("/oidc/") ? try await oidc(logout, p) : try await v2(logout, p)
        }
    }

    func v2(_ logout: LogoutEndpoint, _ p: [String: String]) async throws -> GatewayResponse {
        let app = try await p["client_id"].asyncMap(logout.application)
        var returnTo = p["returnTo"]
        if let target = returnTo {
            guard logout.allowedLogoutURLs(app).allowsLogoutReturn(target) else {
                throw LogoutEndpoint.Refusal(
                    "The \"returnTo\" querystring parameter \"\(target)\" is not defined as a valid URL in \"Allowed Logout URLs\".",
                    clientId: app?.clientId)
            }
        } else {
            returnTo = app?.allowedLogoutURLs?.first
        }
        var response = returnTo.map { BrowserPage.redirect($0) } ?? LogoutEndpoint.loggedOut
        try await logout.endSession(&response, clientId: app?.clientId)
        return response
    }

    func oidc(_ logout: LogoutEndpoint, _ p: [String: String]) async throws -> GatewayResponse {
        var clientId = p["client_id"]
        if let hint = p["id_token_hint"] {
            let claims = try await logout.verifyHint(hint)
            let audience = claims["aud"]?.stringValue ?? claims["aud"]?.arrayValue?.first?.stringValue
            guard clientId == nil || clientId == audience else {
                throw LogoutEndpoint.Refusal("client_id does not match the id_token_hint's audience.", clientId: clientId)
            }
            clientId = audience
        }
        if let hint = p["logout_hint"], let sid = try await logout.currentSid(), hint != sid {
            throw LogoutEndpoint.Refusal("logout_hint does not name the current session.", clientId: clientId)
        }
        let app = try await clientId.asyncMap(logout.application)
        var response = LogoutEndpoint.loggedOut
        if let target = p["post_logout_redirect_uri"] {
            guard app != nil else {
                throw LogoutEndpoint.Refusal("post_logout_redirect_uri needs an id_token_hint or a client_id.")
            }
            guard logout.allowedLogoutURLs(app).allows(target) else {
                throw LogoutEndpoint.Refusal(
                    "The post_logout_redirect_uri \"\(target)\" is not defined as a valid URL in \"Allowed Logout URLs\".",
                    clientId: clientId)
            }
            let state = p["state"].map { (target.contains("?") ? "&" : "?") + FormURLEncoding.encode([("state", $0)]) } ?? ""
            response = BrowserPage.redirect(target + state)
        }
        try await logout.endSession(&response, clientId: clientId)
        return response
    }
}

extension Optional {
    fileprivate func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async throws -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

await Function.run(LogoutFunction())
