import FoundationEssentials
import GangwayPlatform

extension TokenEndpoint {
    /// The refresh_token grant for a token Gangway did not issue: re-minted once through the tenant's migration
    /// sources (see `RefreshRemint`), answered with Gangway's own access, ID and refresh tokens.
    ///
    /// - Scope and audience: what the client asks for now (`scope`, `audience`), within what it may have — the same
    ///   `ScopePolicy` as a password login; nothing asked means `openid profile email` plus the API's scopes.
    /// - A Gangway refresh token is always issued (the client already held one; without it the client would be
    ///   stranded at its next refresh), in a new family bound to this client, user, scope and audience.
    /// - Logged as `sertft` with `details.migrated_from` = the source's id and `upstream_client` (`application` or
    ///   `source`: whose client redeemed it upstream) with `upstream_client_id`; a refusal as `fertft` with the
    ///   causes, each naming the `client` it tried. Neither ever carries a token or secret.
    public func remint(_ presented: String, client: AuthenticatedClient) async throws -> [String: JSONValue] {
        // The client's own request is checked before anything goes upstream.
        let api = try await api(parameters.optional("audience"))
        let requested = try parameters.scopes

        let outcome: RefreshRemint.Success
        do {
            // Redeemed upstream as this application when it was imported from Auth0 (its secret already verified
            // here: `client` is authenticated before anything goes upstream), else as the source's own client.
            outcome = try await RefreshRemint(store: store, tenant: tenant, configuration: configuration).redeem(
                presented, presenting: RefreshRemint.Redeemer.presenting(client), forwardedFor: ip)
        } catch RefreshRemint.Failure.rejected(let attempts) {
            await record(
                .failedRefreshTokenExchange, "Unknown or invalid refresh token: no migration source accepted it.",
                details: ["upstream": .array(attempts)])
            throw RefreshTokens.invalid
        } catch RefreshRemint.Failure.alreadyRedeemed(let why) {
            await record(.failedRefreshTokenExchange, "Unknown or invalid refresh token: \(why).")
            throw RefreshTokens.invalid
        } catch RefreshRemint.Failure.userUnavailable(let source, let cause, let failures) {
            await record(
                .failedRefreshTokenExchange, "Unknown or invalid refresh token: \(cause).",
                details: ["migrated_from": .string(source), "upstream": .array(failures)]
            )
            throw RefreshTokens.invalid
        }

        let user = outcome.user
        let source = outcome.source
        let scopes = ScopePolicy.user(requested: requested, api: api, tenant: tenant, client: client.application)
        let now = Int64(Date.now.timeIntervalSince1970)
        let refresh = try await RefreshTokens(store: store, tenant: tenant).issue(
            clientId: client.clientId, userId: user.userId, connection: source.connection, scope: scopes,
            audience: api?.identifier, gty: "refresh_token", authTime: now,
            policy: RefreshPolicy(application: client.application, tenant: tenant)
        )
        var details: [String: JSONValue] = [
            "migrated_from": .string(source.id), "provider": .string(source.provider), "user_created": .bool(outcome.created),
            "upstream_client": .string(outcome.redeemer.rawValue),
            "upstream_client_id": .string(outcome.redeemer == .application ? client.clientId : source.credentials.clientId),
        ]
        if !outcome.failures.isEmpty { details["upstream"] = .array(outcome.failures) }
        return try await issue(
            TokenGrant(
                client: client.application, subject: user.userId, user: user, audience: api?.identifier, scopes: scopes,
                gty: "refresh_token", authTime: now
            ),
            connection: source.connection, refreshToken: refresh, successType: .successRefreshTokenExchange,
            description: "Successful refresh token exchange (re-minted from an upstream refresh token)", details: details
        )
    }
}
