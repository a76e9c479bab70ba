// POST /oauth/token — the OAuth 2.0 token endpoint, as Auth0 speaks it (issue 3; shared/reference/auth0-compat.md).
// Bodies: JSON or form; a JSON null or "" counts as not sent. Clients: client_secret_post, client_secret_basic, or none
// (public clients: SPAs and native apps, which prove the code with PKCE instead).
// Every answer, errors included, carries Cache-Control: no-store. Every outcome writes a tenant log event.
import FoundationEssentials
import GangwayAuth0

struct TokenFunction: FunctionHandler {
    let name = "token"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        try await TokenEndpoint.answer(request, context) { token in
            let p = token.parameters
            let grant = GrantType(try p.required("grant_type"))
            guard GrantType.supported.contains(grant) else {
                throw HTTPError(400, "unsupported_grant_type", "Unsupported grant type: \(grant)")
            }
            token.grantType = grant
            // Unknown client, wrong or missing secret: 401 access_denied "Unauthorized".
            let client = try await token.authenticateClient()
            guard client.application.allows(grant) else {
                throw HTTPError(403, "unauthorized_client", "Grant type '\(grant)' not allowed for the client.")
            }
            let now = Int64(Date.now.timeIntervalSince1970)

            switch grant {
            case .password, .passwordRealm:
                // `password` logs in on the tenant's default connection; password-realm names the connection in `realm`.
                let connection = try await token.databaseConnection(
                    named: grant == .password ? token.tenant.defaultConnection : try p.required("realm")
                )
                let username = try p.required("username")
                let password = try p.required("password")
                let api = try await token.api(p.optional("audience"))
                // Brute-force protection, then bcrypt; unknown user and wrong password look the same (403 invalid_grant).
                let user = try await token.passwordLogin(connection, username: username, password: password)
                let scopes = ScopePolicy.user(requested: try p.scopes, api: api, tenant: token.tenant, client: client.application)
                return try await token.issue(
                    TokenGrant(
                        client: client.application, subject: user.userId, user: user, audience: api?.identifier, scopes: scopes,
                        gty: "password", nonce: try p.optional("nonce"), authTime: now
                    ),
                    connection: connection.name, successType: .successLogin, description: "Successful login"
                )

            case .refreshToken:
                let presented = try p.required("refresh_token")
                // No local token can match a token not in Gangway's format: it may be the upstream Auth0's. Re-mint it,
                // once, through the tenant's migration sources (Gangway-format tokens never go upstream).
                guard RefreshTokens.isGangwayFormat(presented) else { return try await token.remint(presented, client: client) }
                let requested = try p.scopes
                // Bound to this client; rotated on use unless the application's refresh_token says non-rotating
                // (then no refresh_token in the answer: the client keeps its own); reuse after the leeway revokes
                // the family (ferrt). The user must still be there and not blocked; the scope may only narrow.
                return try await token.refresh(presented) { old in
                    let user = try await token.activeUser(old.userId)
                    if let requested, !Set(requested).isSubset(of: old.scope) {
                        throw HTTPError(400, "invalid_scope", "The requested scope exceeds the scope originally granted.")
                    }
                    return TokenGrant(
                        client: client.application, subject: user.userId, user: user, audience: old.audience,
                        scopes: requested ?? old.scope, gty: ["refresh_token", .string(old.gty)], authTime: old.authTime
                    )
                }

            case .authorizationCode:
                // The code /authorize gave this client, with the redirect_uri it was sent to and the PKCE verifier
                // of its challenge (public clients: always). Single use: a replay revokes what the first exchange gave.
                let (code, tokenId, family) = try await token.redeemAuthorizationCode(
                    try p.required("code"), redirectURI: try p.optional("redirect_uri"), verifier: try p.optional("code_verifier"))
                guard let user = try await UserDirectory(store: token.store, tenant: token.tenant).activeUser(code.userId) else {
                    throw TokenEndpoint.invalidCode
                }
                var grant = TokenGrant(
                    client: client.application, subject: user.userId, user: user, audience: code.request.audience,
                    scopes: code.request.scopes, gty: "authorization_code", nonce: code.request.nonce, authTime: code.authTime)
                grant.sid = code.sid
                grant.tokenId = tokenId
                if let audience = code.request.audience { _ = try await token.api(audience) }
                return try await token.issue(
                    grant, connection: code.connection, refreshFamily: family, successType: .successCodeExchange,
                    description: "Authorization Code for Access Token")

            case .clientCredentials:
                guard let api = try await token.api(p.optional("audience")) else {
                    throw HTTPError(403, "access_denied", "No audience parameter was provided, and no default audience has been configured")
                }
                let clientGrant = try await token.clientGrant(client, api)
                return try await token.issue(
                    TokenGrant(
                        client: client.application, subject: "\(client.clientId)@clients", user: nil, audience: api.identifier,
                        scopes: ScopePolicy.client(requested: try p.scopes, clientGrant: clientGrant, api: api),
                        gty: "client-credentials"
                    ),
                    successType: .successClientCredentialsExchange, description: "Successful client credentials exchange"
                )

            default:
                throw HTTPError(400, "unsupported_grant_type", "Unsupported grant type: \(grant)")
            }
        }
    }
}

await Function.run(TokenFunction())
