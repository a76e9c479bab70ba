import FoundationEssentials
import GangwayPlatform

/// The Management API's front door, shared by every `/api/v2/*` function: only access tokens this tenant
/// issued for `<issuer>api/v2/`, never ID tokens, and the scopes each route names.
public struct ManagementCall: Sendable {
    public let tenant: Tenant
    public let token: AccessToken
    public let store: any KeyValueStore
    public let log: TenantLog

    public var users: UserDirectory { UserDirectory(store: store, tenant: tenant) }
}

extension FunctionContext {
    /// Authenticates a Management API call and checks that its token holds any of `scopes`.
    public func management(_ request: FunctionRequest, anyOf scopes: [String]) async throws -> ManagementCall {
        let store = try store()
        let tenant = try await TenantDirectory(store: store).tenant(for: request)
        let verifier = try await TokenVerifier.load(store, tenant: tenant)
        let token = try verifier.verify(AccessToken.bearer(in: request), as: AccessToken.self, at: .managementAPI)
        guard !token.scopes.isDisjoint(with: scopes) else {
            throw HTTPError(403, "insufficient_scope", "Insufficient scope, expected any of: \(scopes.joined(separator: ","))")
        }
        return ManagementCall(tenant: tenant, token: token, store: store, log: TenantLog(store: store, tenant: tenant, logger: logger))
    }
}
