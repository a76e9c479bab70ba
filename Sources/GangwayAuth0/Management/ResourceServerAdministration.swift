import FoundationEssentials
import GangwayPlatform

/// The body of `POST` and `PATCH /api/v2/resource-servers…`, validated (400 `invalid_body` naming the field).
/// A PATCH is a partial update: what it omits stays as it is.
public struct ResourceServerInput: Sendable {
    public var identifier: String?
    public var name: String?
    public var scopes: [ResourceServer.Scope]?
    public var signingAlg: String?
    public var tokenLifetime: Int?
    public var tokenLifetimeForWeb: Int?
    public var allowOfflineAccess: Bool?
    public var skipConsent: Bool?

    /// What a PATCH of the system API (the Management API) may name; anything else is refused as Auth0 refuses it.
    static let systemFields: Set<String> = ["identifier", "token_lifetime", "token_lifetime_for_web", skipConsentKey]
    static let skipConsentKey = "skip_consent_for_verifiable_first_party_clients"
    static let fields: Set<String> = systemFields.union(["name", "scopes", "signing_alg", "allow_offline_access"])

    public static let identifierMaxLength = 300
    public static let nameMaxLength = 200
    public static let maxScopes = 1000
    public static let scopeValueMaxLength = 280
    public static let scopeDescriptionMaxLength = 500
    /// Auth0's ceiling for `token_lifetime` (30 days).
    public static let tokenLifetimes = 1...2_592_000

    /// Writes the named settings into `api` (never its identifier).
    public func apply(to api: inout ResourceServer) {
        if let v = name { api.name = v }
        if let v = scopes { api.scopes = v }
        if let v = signingAlg { api.signingAlg = v }
        if let v = tokenLifetime { api.tokenLifetime = v }
        if let v = tokenLifetimeForWeb { api.tokenLifetimeForWeb = v }
        if let v = allowOfflineAccess { api.allowOfflineAccess = v }
        if let v = skipConsent { api.skipConsentForVerifiableFirstPartyClients = v }
    }

    public init(_ payload: Payload, creating: Bool) throws(HTTPError) {
        try payload.allowOnly(Self.fields)
        if creating { try payload.require("identifier") }
        if let identifier = try payload.string("identifier", maxLength: Self.identifierMaxLength) ?? nil {
            try Payload.requireToken(identifier, "identifier", maxLength: Self.identifierMaxLength)
            self.identifier = identifier
        }
        if let name = try payload.string("name", maxLength: Self.nameMaxLength) ?? nil {
            guard !name.contains("<"), !name.contains(">") else {
                throw Payload.error("Payload validation error: 'String does not match pattern ^[^<>]+$' on property name.")
            }
            self.name = name
        }
        if let items = try payload.array("scopes", maxItems: Self.maxScopes) {
            scopes = try items.enumerated().map { (i, item) throws(HTTPError) in try Self.scope(item, at: i) }
            var seen = Set<String>()
            for scope in scopes ?? [] where !seen.insert(scope.value).inserted {
                throw Payload.error("Payload validation error: 'Duplicate scope value \"\(scope.value)\"' on property scopes.")
            }
        }
        if let alg = try payload.string("signing_alg", maxLength: 16) ?? nil {
            guard ResourceServer.signingAlgorithms.contains(alg) else {
                throw Payload.error(
                    "Payload validation error: 'Invalid value \"\(alg)\", expected one of: RS256 (Gangway signs with the tenant's RS256 key only)' on property signing_alg."
                )
            }
            signingAlg = alg
        }
        tokenLifetime = try payload.integer("token_lifetime", range: Self.tokenLifetimes)
        tokenLifetimeForWeb = try payload.integer("token_lifetime_for_web", range: Self.tokenLifetimes)
        allowOfflineAccess = try payload.bool("allow_offline_access")
        skipConsent = try payload.bool(Self.skipConsentKey)
    }

    static func scope(_ item: JSONValue, at i: Int) throws(HTTPError) -> ResourceServer.Scope {
        guard let object = item.objectValue else { throw Payload.wrongType("scopes[\(i)]", expected: "object", got: item) }
        let nested = Payload(fields: Dictionary(uniqueKeysWithValues: object.map { ("scopes[\(i)]." + $0.key, $0.value) }))
        try nested.allowOnly(["scopes[\(i)].value", "scopes[\(i)].description"])
        try nested.require("scopes[\(i)].value")
        let value: String = (try nested.string("scopes[\(i)].value", maxLength: scopeValueMaxLength) ?? nil) ?? ""
        try Payload.requireToken(value, "scopes[\(i)].value", maxLength: scopeValueMaxLength)
        let description: String? = try nested.string("scopes[\(i)].description", minLength: 0, maxLength: scopeDescriptionMaxLength) ?? nil
        return ResourceServer.Scope(value: value, description: description)
    }
}

extension ManagementCall {
    public var resourceServers: ResourceServers { ResourceServers(store: store, tenant: tenant) }
}

/// The administration of APIs, shared by `/api/v2/resource-servers` and `gangway apis`.
extension ResourceServers {
    public static let noSuchResourceServer = HTTPError(404, "inexistent_resource_server", "The resource server does not exist.")
    public static let cannotDeleteSystemAPI = HTTPError(
        400, "operation_not_supported", "The Auth0 Management API is a system resource server and cannot be deleted.")

    /// `/resource-servers/{id}` takes the id or the identifier (percent-encoded in the path, decoded by now).
    public func resourceServer(_ idOrIdentifier: String?) async throws -> (ResourceServer, Int64) {
        guard let key = idOrIdentifier, !key.isEmpty, let found = try await find(key) else {
            throw Self.noSuchResourceServer
        }
        return found
    }

    /// Auth0's shape: `{id, name, identifier, scopes, signing_alg, token_lifetime, token_lifetime_for_web,
    /// allow_offline_access, skip_consent_for_verifiable_first_party_clients, is_system}`.
    public func managementJSON(_ api: ResourceServer) -> JSONValue {
        let scopes: [JSONValue] = api.scopes.map { scope in
            var object: [String: JSONValue] = ["value": .string(scope.value)]
            object["description"] = scope.description.map(JSONValue.string)
            return .object(object)
        }
        return [
            "id": .string(api.id), "name": .string(api.name), "identifier": .string(api.identifier), "scopes": .array(scopes),
            "signing_alg": .string(api.signingAlg),
            "token_lifetime": .int(Int64(api.tokenLifetime ?? tenant.settings.accessTokenLifetime)),
            "token_lifetime_for_web": .int(Int64(api.tokenLifetimeForWeb ?? ResourceServer.defaultTokenLifetimeForWeb)),
            "allow_offline_access": .bool(api.allowOfflineAccess),
            "skip_consent_for_verifiable_first_party_clients": .bool(api.skipConsentForVerifiableFirstPartyClients),
            "is_system": .bool(isSystem(api)),
        ]
    }

    /// 201 with the new API; 409 when its identifier is taken (the Management API's included).
    public func createResourceServer(_ input: ResourceServerInput) async throws -> ResourceServer {
        guard let identifier = input.identifier else {
            throw Payload.error("Payload validation error: 'Missing required property: identifier'.")
        }
        let api = ResourceServer(
            id: ResourceServer.newId(), identifier: identifier, name: input.name ?? identifier, scopes: input.scopes ?? [],
            signingAlg: input.signingAlg ?? "RS256", tokenLifetime: input.tokenLifetime, tokenLifetimeForWeb: input.tokenLifetimeForWeb,
            allowOfflineAccess: input.allowOfflineAccess ?? false, skipConsentForVerifiableFirstPartyClients: input.skipConsent ?? false
        )
        guard try await store.insertJSONIfAbsent(StoreKeys.resourceServer(tenant.id, identifier), api) else {
            throw HTTPError(409, "conflict", "A resource server with the same identifier already exists.")
        }
        return api
    }

    /// Applies a partial update. The identifier never changes (400); the system API takes only its lifetimes and
    /// the consent flag (Auth0's "Additional properties not allowed" for anything else).
    public func updateResourceServer(_ idOrIdentifier: String?, _ input: ResourceServerInput, _ payload: Payload) async throws
        -> ResourceServer
    {
        let (found, _) = try await resourceServer(idOrIdentifier)
        if let identifier = input.identifier, identifier != found.identifier {
            throw Payload.error("Payload validation error: 'The identifier of a resource server cannot be changed' on property identifier.")
        }
        if isSystem(found) { try payload.allowOnly(ResourceServerInput.systemFields) }
        return try await store.update(ResourceServer.self, at: StoreKeys.resourceServer(tenant.id, found.identifier)) { stored in
            guard var api = stored else { throw Self.noSuchResourceServer }
            input.apply(to: &api)
            stored = api
            return overlaid(api)
        }
    }

    /// Deletes an API and, in the same batch, every client grant for it (a later API with the same identifier
    /// starts with no grants). The system API cannot be deleted.
    public func deleteResourceServer(_ idOrIdentifier: String?) async throws -> ResourceServer {
        let (api, version) = try await resourceServer(idOrIdentifier)
        guard !isSystem(api) else { throw Self.cannotDeleteSystemAPI }
        let grants = try await ClientGrants(store: store, tenant: tenant).deletions(audience: api.identifier)
        let outcome = try await store.commit(
            [.delete(StoreKeys.resourceServer(tenant.id, api.identifier), expectedVersion: version)] + grants)
        guard outcome.committed else {
            throw HTTPError(409, "conflict", "The resource server or one of its client grants changed while being deleted; try again.")
        }
        return api
    }
}
