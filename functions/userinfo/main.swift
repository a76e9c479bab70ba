// GET and POST /userinfo: the OIDC-conformant profile of the user an access token speaks for.
//
// - Credentials: `Authorization: Bearer <access token>` issued by this tenant with `<issuer>userinfo` in `aud`
//   and `openid` in `scope`. ID tokens are not credentials. During a migration's transition window, an access token
//   the old Auth0 tenant signed (same issuer, one of its imported keys, typed `JWT` as Auth0 types them) is one too.
// - Missing token: 401 with `WWW-Authenticate: Bearer realm="<issuer>"` (no error code, RFC 6750 §3.1).
// - Invalid, expired, foreign-tenant or ID token, or the user deleted or blocked: 401 with
//   `WWW-Authenticate: Bearer realm="…", error="invalid_token", error_description="…"`.
// - No `openid` scope: 403 `insufficient_scope`.
// - Success: `sub` always (never the legacy `user_id`); `name`, `nickname`, `picture`, `updated_at`… with
//   `profile`; `email`, `email_verified` with `email`. Never cached.
import GangwayAuth0

struct UserinfoFunction: FunctionHandler {
    let name = "userinfo"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        guard request.routeKey == "GET /userinfo" || request.routeKey == "POST /userinfo" else {
            throw HTTPError.notFound()
        }
        let caller = try await context.userinfoCaller(request)
        return try .json(200, caller.claims, headers: ["cache-control": "no-store", "pragma": "no-cache"])
    }
}

await Function.run(UserinfoFunction())
