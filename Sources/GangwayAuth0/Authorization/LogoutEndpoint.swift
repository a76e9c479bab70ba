import FoundationEssentials
import GangwayPlatform

/// `/v2/logout` (Auth0's) and `/oidc/logout` (OpenID Connect RP-Initiated Logout 1.0): both end the browser
/// session and clear its cookies, then send the browser back only to a URL the application (or, without one, the
/// tenant) registered as an Allowed Logout URL. A request that cannot be trusted ends nothing: it gets an error
/// page. Refresh tokens are not revoked by a logout (Auth0 neither).
public final class LogoutEndpoint: BrowserEndpoint {
    /// Runs the endpoint; a refusal is an error page (and an `flo` log event), never a redirect.
    public static func answer(
        _ request: FunctionRequest, _ context: FunctionContext, _ body: (LogoutEndpoint) async throws -> GatewayResponse
    ) async throws -> GatewayResponse {
        let endpoint = try await LogoutEndpoint(request: request, context: context)
        do {
            return try await body(endpoint)
        } catch let refusal as Refusal {
            await endpoint.record(.failedLogout, refusal.description, clientId: refusal.clientId)
            return BrowserPage.error(status: 400, error: "invalid_request", description: refusal.description, trackingId: request.requestId)
        } catch let thrown as any HTTPAnswerable where thrown.httpError.map({ $0.status < 500 }) == true {
            return BrowserPage.error(thrown.httpError!, trackingId: request.requestId)
        }
    }

    /// Why a logout was refused, in Auth0's words where it has them.
    public struct Refusal: Error, Sendable {
        public let description: String
        public let clientId: String?

        public init(_ description: String, clientId: String? = nil) {
            self.description = description
            self.clientId = clientId
        }
    }

    /// The request's parameters: the query, or the form of a POST (`/oidc/logout` takes both).
    public func parameters() throws -> [String: String] {
        var raw = request.event.rawQueryString
        if request.method == "POST" { raw = String(decoding: try request.body(), as: UTF8.self) }
        guard let pairs = FormURLEncoding.decode(raw) else { throw Refusal("The request is malformed.") }
        var values: [String: String] = [:]
        for (name, value) in pairs where values[name] == nil && !value.isEmpty { values[name] = value }
        return values
    }

    public func application(_ clientId: String) async throws -> Application {
        guard let (app, _) = try await store.getCachedJSON(Application.self, StoreKeys.application(tenant.id, clientId)) else {
            throw Refusal("Unknown client: \(clientId)", clientId: clientId)
        }
        return app
    }

    /// Where a logout may return to: the application's Allowed Logout URLs, else the tenant's.
    public func allowedLogoutURLs(_ app: Application?) -> CallbackURLs {
        guard let app else { return CallbackURLs(tenant.allowedLogoutURLs ?? [], wildcards: true) }
        return CallbackURLs(app.allowedLogoutURLs ?? [], wildcards: app.isFirstParty ?? true)
    }

    /// Checks an `id_token_hint`: an ID token this tenant signed (an expired one too: it only says who is logging
    /// out, and RP sessions outlive ID tokens — OIDC RP-Initiated Logout §2). Returns its claims.
    public func verifyHint(_ hint: String) async throws -> [String: JSONValue] {
        let ring = try await KeyRing.load(store, tenant: tenant)
        guard let decoded = try? JWT.decodeUnverified(hint), decoded.header["typ"]?.stringValue == IDToken.type,
            let issuedAt = decoded.claims["iat"]?.intValue,
            // As of when it was issued: its signature, issuer and shape must hold; its age does not matter here.
            let claims = try? ring.verify(hint, audience: nil, now: issuedAt)
        else { throw Refusal("The id_token_hint is not a valid ID token of this tenant.") }
        return claims
    }

    /// Ends the browser's session, if it has one: the record goes, and both cookies are cleared.
    public func endSession(_ response: inout GatewayResponse, clientId: String?) async throws {
        let sessions = Sessions(store: store, tenant: tenant)
        var userId: String?
        if let (id, session) = try await sessions.current(request) {
            userId = session.userId
            try await sessions.end(id)
        }
        for cookie in sessions.deletions { response.setCookie(cookie) }
        await record(.successLogout, "User successfully logged out", clientId: clientId, userId: userId)
    }

    /// The sid of the browser's current session, if any (`logout_hint` must name it).
    public func currentSid() async throws -> String? {
        try await Sessions(store: store, tenant: tenant).current(request)?.session.sid
    }

    public static var loggedOut: GatewayResponse { BrowserPage.message(title: "Logged out", text: "You have been logged out.") }
}
