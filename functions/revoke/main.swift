// POST /oauth/revoke — refresh-token revocation (RFC 7009) as Auth0 answers it (shared/reference/auth0-authorize.md §5).
// Body: JSON or form: `client_id` (+ `client_secret`, or HTTP Basic, for a confidential client, as its
// token_endpoint_auth_method says), `token` (a refresh token), `token_type_hint` (ignored: only refresh tokens revoke).
//
// - 200 `{}`: the token's whole family is revoked (every token rotated from the same login), logged as `srrt`;
//   also for an unknown token, another client's, or one not in Gangway's format: nothing changes, nothing is told.
// - 400 invalid_request "Missing required parameter: token".
// - 401 invalid_client "Unauthorized": an unknown client, a wrong or missing secret, a secret in the wrong place.
// Like every token answer: Cache-Control: no-store.
import GangwayAuth0

struct RevokeFunction: FunctionHandler {
    let name = "revoke"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        try await TokenEndpoint.answer(request, context) { token in
            let client: AuthenticatedClient
            do {
                client = try await token.authenticateClient()
            } catch let refusal as HTTPError where refusal.status == 401 {
                throw HTTPError(401, "invalid_client", refusal.message)
            }
            let presented = try token.parameters.required("token")
            _ = try token.parameters.optional("token_type_hint")  // checked like any parameter, then ignored
            let policy = RefreshPolicy(application: client.application, tenant: token.tenant)
            if let revoked = try await RefreshTokens(store: token.store, tenant: token.tenant).revoke(
                presented, clientId: client.clientId, policy: policy)
            {
                await token.record(.successRevocation, "Refresh token revoked", userId: revoked.userId, connection: revoked.connection)
            }
            return [:]
        }
    }
}

await Function.run(RevokeFunction())
