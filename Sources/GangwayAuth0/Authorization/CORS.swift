import GangwayPlatform

/// Cross-origin calls to `/oauth/token` and `/oauth/revoke` from browser applications (auth0-spa-js exchanges its
/// code and refreshes with `fetch`). Only origins an application registered are answered, and the answer names
/// exactly that origin — never `*`, never whatever origin asked. `/authorize` has no CORS (RFC 9700 §2.6).
public enum CORS {
    /// What a browser application sends beyond simple headers: its JSON or form body, auth0-spa-js's telemetry
    /// header, and a DPoP proof.
    public static let allowedHeaders = "Content-Type, Auth0-Client, DPoP"

    /// Origins an application accepts calls from: its Allowed Origins (CORS), its Allowed Web Origins and, as
    /// Auth0 does by default, the origins of its callback URLs.
    public static func allows(_ origin: String, for app: Application) -> Bool {
        let wildcards = app.isFirstParty ?? true
        let lists = [app.allowedOrigins ?? [], app.webOrigins ?? [], app.callbacks ?? []]
        return lists.contains { CallbackURLs($0, wildcards: wildcards).allowsOrigin(origin) }
    }

    /// The headers of an actual (non-preflight) answer to `origin` when `app` registered it; always `Vary: Origin`.
    public static func headers(origin: String?, app: Application?) -> [String: String] {
        guard let origin, let app, allows(origin, for: app) else { return ["vary": "Origin"] }
        return ["access-control-allow-origin": origin, "vary": "Origin"]
    }

    /// An `OPTIONS` preflight. It carries no client_id, so the origin must be one some application of the tenant
    /// registered; otherwise the answer has no CORS headers and the browser stops there.
    public static func preflight(_ request: FunctionRequest, store: any KeyValueStore, tenant: Tenant) async throws -> GatewayResponse {
        var headers = ["vary": "Origin", "cache-control": "no-store"]
        if let origin = request.header("origin"), request.header("access-control-request-method")?.uppercased() == "POST" {
            let apps = try await store.listAllJSON(Application.self, prefix: StoreKeys.applications(tenant.id))
            if apps.contains(where: { allows(origin, for: $0.value) }) {
                headers["access-control-allow-origin"] = origin
                headers["access-control-allow-methods"] = "POST"
                headers["access-control-allow-headers"] = allowedHeaders
                headers["access-control-max-age"] = "86400"
            }
        }
        return GatewayResponse(statusCode: 204, headers: headers)
    }
}
