// GET /.well-known/jwks.json and GET /.well-known/openid-configuration for the tenant the host selects.
import GangwayAuth0

struct WellKnownFunction: FunctionHandler {
    let name = "well-known"
    let errors = ErrorShape.oauth

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let tenant = try await TenantDirectory(store: context.store()).tenant(for: request)
        // Public documents: caches may keep them briefly (Auth0's SDKs refetch the JWKS on an unknown kid).
        let cacheable = ["cache-control": "public, max-age=60"]

        switch request.routeKey {
        case "GET /.well-known/jwks.json":
            // The tenant's own keys, then the old tenant's until the transition deadline (tokens it issued keep verifying).
            let store = try context.store()
            let keys = try await store.getJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0 ?? SigningKeySet()
            let upstream = try await UpstreamKeys.load(store, tenant: tenant)?.open() ?? []
            return try .json(200, JWKS(keys: keys.jwks.keys + upstream), headers: cacheable)

        case "GET /.well-known/openid-configuration":
            return try .json(200, DiscoveryDocument(tenant: tenant), headers: cacheable)

        default:
            throw HTTPError.notFound("No such document.")
        }
    }
}

await Function.run(WellKnownFunction())
