import FoundationEssentials
import GangwayPlatform

/// The body of `POST /api/v2/client-grants` (`{client_id, audience, scope}`) or of its PATCH (`{scope}`),
/// validated (400 `invalid_body` naming the field).
public struct ClientGrantInput: Sendable {
    public var clientId: String?
    public var audience: String?
    public var scope: [String]?

    public init(_ payload: Payload, creating: Bool) throws(HTTPError) {
        if creating {
            try payload.allowOnly(["client_id", "audience", "scope"])
            for field in ["client_id", "audience", "scope"] { try payload.require(field) }
            clientId = try payload.string("client_id", maxLength: 256) ?? nil
            audience = try payload.string("audience", maxLength: ResourceServerInput.identifierMaxLength) ?? nil
        } else {
            try payload.allowOnly(["scope"])
        }
        scope = try payload.scopeValues(
            "scope", maxItems: ResourceServerInput.maxScopes, maxLength: ResourceServerInput.scopeValueMaxLength)
    }
}

extension ManagementCall {
    public static let noSuchClientGrant = HTTPError(404, "inexistent_client_grant", "The client grant does not exist.")

    /// `{id, client_id, audience, scope}`.
    public static func managementJSON(_ grant: ClientGrant) -> JSONValue {
        [
            "id": .string(grant.id), "client_id": .string(grant.clientId), "audience": .string(grant.audience),
            "scope": .array(grant.scope.map(JSONValue.string)),
        ]
    }

    /// The tenant's client grants (with their keys and versions), optionally only one client's or one audience's,
    /// in ascending id order.
    public func clientGrants(clientId: String? = nil, audience: String? = nil) async throws -> [StoredValue<ClientGrant>] {
        try await ClientGrants(store: store, tenant: tenant).all(clientId: clientId, audience: audience)
    }

    public func clientGrant(_ id: String?) async throws -> StoredValue<ClientGrant> {
        guard let id, !id.isEmpty, let found = try await clientGrants().first(where: { $0.value.id == id }) else {
            throw Self.noSuchClientGrant
        }
        return found
    }

    /// 400 naming the first scope the API does not define.
    func requireDefined(_ scope: [String], by api: ResourceServer) throws(HTTPError) {
        if let undefined = scope.first(where: { !api.scopeValues.contains($0) }) {
            throw Payload.error(
                "Payload validation error: 'Scope \"\(undefined)\" is not defined by the resource server \"\(api.identifier)\"' on property scope."
            )
        }
    }

    /// 404 for an unknown application or API, 400 for a scope the API does not define, 409 when the pair already
    /// has a grant.
    public func createClientGrant(_ input: ClientGrantInput) async throws -> ClientGrant {
        guard let clientId = input.clientId, let audience = input.audience, let scope = input.scope else {
            throw Payload.error("Payload validation error: 'Missing required property: client_id'.")
        }
        guard try await store.get(StoreKeys.application(tenant.id, clientId)) != nil else {
            throw HTTPError(404, "inexistent_client", "The client does not exist.")
        }
        guard let (api, _) = try await resourceServers.get(identifier: audience) else {
            throw HTTPError(404, "inexistent_resource_server", "No resource server found for audience \"\(audience)\".")
        }
        try requireDefined(scope, by: api)
        let grant = ClientGrant(id: ClientGrant.newId(), clientId: clientId, audience: audience, scope: Self.unique(scope))
        guard try await store.insertJSONIfAbsent(StoreKeys.clientGrant(tenant.id, clientId, audience), grant) else {
            throw HTTPError(409, "conflict", "A client grant for this client and audience already exists.")
        }
        return grant
    }

    /// Replaces the grant's scope (each value must still be one its API defines).
    public func updateClientGrant(_ id: String?, _ input: ClientGrantInput) async throws -> ClientGrant {
        let found = try await clientGrant(id)
        guard let scope = input.scope else { return found.value }
        guard let (api, _) = try await resourceServers.get(identifier: found.value.audience) else { throw Self.noSuchClientGrant }
        try requireDefined(scope, by: api)
        return try await store.update(ClientGrant.self, at: found.key) { stored in
            guard var grant = stored, grant.id == found.value.id else { throw Self.noSuchClientGrant }
            grant.scope = Self.unique(scope)
            stored = grant
            return grant
        }
    }

    public func deleteClientGrant(_ id: String?) async throws -> ClientGrant {
        let found = try await clientGrant(id)
        guard try await store.delete(found.key, expectedVersion: found.version) else {
            throw HTTPError(409, "conflict", "The client grant changed while being deleted; try again.")
        }
        return found.value
    }

    /// Values in their first order, each once.
    static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
