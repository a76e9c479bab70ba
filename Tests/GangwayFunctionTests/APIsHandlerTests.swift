import Foundation
import GangwayAuth0
import Testing

@testable import client_grants
@testable import resource_servers
@testable import token

/// `/api/v2/resource-servers`, `/api/v2/client-grants` and what an API's settings change at `/oauth/token`,
/// with the handlers called in process against a real store.
@Suite("APIs and client grants, in process")
struct APIsHandlerTests {
    static let allScopes =
        "read:resource_servers create:resource_servers update:resource_servers delete:resource_servers read:client_grants create:client_grants update:client_grants delete:client_grants"

    static func encoded(_ identifier: String) -> String {
        identifier.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? identifier
    }

    /// Creates an API and answers its JSON.
    static func createAPI(_ env: InProcessTenant, _ body: JSONValue) async throws -> [String: JSONValue] {
        let created = try await env.call(
            ResourceServersFunction(), "POST", "/api/v2/resource-servers", token: env.managementToken(allScopes), json: body)
        #expect(created.status == 201, "\(created.body)")
        return created.object
    }

    @Test("resource servers: create, get by id and by percent-encoded identifier, list, patch, delete")
    func resourceServersCRUD() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken(Self.allScopes)
        let created = try await Self.createAPI(
            env,
            [
                "identifier": "https://orders.example/api", "name": "Orders",
                "scopes": [["value": "read:orders", "description": "Read orders"], ["value": "write:orders"]],
                "token_lifetime": 600, "allow_offline_access": true,
            ])
        let id = try #require(created["id"]?.stringValue)
        #expect(id.count == 24 && id.allSatisfy(\.isHexDigit))
        #expect(created["signing_alg"] == "RS256" && created["is_system"] == false && created["token_lifetime"] == 600)
        #expect(created["token_lifetime_for_web"] == 7200 && created["skip_consent_for_verifiable_first_party_clients"] == false)
        #expect(created["scopes"] == [["value": "read:orders", "description": "Read orders"], ["value": "write:orders"]])

        let byId = try await env.call(ResourceServersFunction(), "GET", "/api/v2/resource-servers/\(id)", token: token)
        #expect(byId.status == 200 && byId.object == created)
        let byIdentifier = try await env.call(
            ResourceServersFunction(), "GET", "/api/v2/resource-servers/\(Self.encoded("https://orders.example/api"))", token: token)
        #expect(byIdentifier.status == 200 && byIdentifier.object == created, "\(byIdentifier.body)")

        let duplicate = try await env.call(
            ResourceServersFunction(), "POST", "/api/v2/resource-servers", token: token, json: ["identifier": "https://orders.example/api"])
        #expect(duplicate.status == 409 && duplicate.object["errorCode"] == "conflict")

        let list = try await env.call(ResourceServersFunction(), "GET", "/api/v2/resource-servers", token: token)
        let identifiers = (list.body.arrayValue ?? []).compactMap { $0.objectValue?["identifier"]?.stringValue }
        #expect(Set(identifiers) == [env.tenant.managementAudience, "https://orders.example/api"])

        let patched = try await env.call(
            ResourceServersFunction(), "PATCH", "/api/v2/resource-servers/\(id)", token: token,
            json: ["name": "Orders v2", "identifier": "https://orders.example/api", "allow_offline_access": false])
        #expect(patched.status == 200 && patched.object["name"] == "Orders v2" && patched.object["allow_offline_access"] == false)
        #expect(patched.object["token_lifetime"] == 600, "omitted fields stay")

        let deleted = try await env.call(ResourceServersFunction(), "DELETE", "/api/v2/resource-servers/\(id)", token: token)
        #expect(deleted.status == 204)
        let gone = try await env.call(ResourceServersFunction(), "GET", "/api/v2/resource-servers/\(id)", token: token)
        #expect(gone.status == 404 && gone.object["errorCode"] == "inexistent_resource_server")
    }

    @Test("resource servers: identifier immutable, RS256 only, validation names the field; the Management API is protected")
    func resourceServerRules() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken(Self.allScopes)
        let api = try await Self.createAPI(env, ["identifier": "urn:billing"])
        #expect(api["name"] == "urn:billing", "name defaults to the identifier")
        let id = try #require(api["id"]?.stringValue)

        let cases: [(String, String, JSONValue, Int, String)] = [
            ("POST", "/api/v2/resource-servers", ["identifier": "urn:x", "signing_alg": "HS256"], 400, "HS256"),
            ("POST", "/api/v2/resource-servers", ["name": "no identifier"], 400, "identifier"),
            ("POST", "/api/v2/resource-servers", ["identifier": "has space"], 400, "identifier"),
            ("POST", "/api/v2/resource-servers", ["identifier": "urn:y", "token_lifetime": 0], 400, "token_lifetime"),
            ("POST", "/api/v2/resource-servers", ["identifier": "urn:y", "scopes": [["value": "a"], ["value": "a"]]], 400, "a"),
            ("POST", "/api/v2/resource-servers", ["identifier": "urn:y", "scopes": [["description": "x"]]], 400, "scopes[0].value"),
            ("POST", "/api/v2/resource-servers", ["identifier": "urn:y", "token_dialect": "access_token"], 400, "token_dialect"),
            ("PATCH", "/api/v2/resource-servers/\(id)", ["identifier": "urn:other"], 400, "identifier"),
            ("PATCH", "/api/v2/resource-servers/\(id)", ["signing_alg": "PS256"], 400, "PS256"),
            ("DELETE", "/api/v2/resource-servers/\(Self.encoded(env.tenant.managementAudience))", nil, 400, "system"),
            ("PATCH", "/api/v2/resource-servers/\(Self.encoded(env.tenant.managementAudience))", ["name": "Mine"], 400, "name"),
            (
                "PATCH", "/api/v2/resource-servers/\(Self.encoded(env.tenant.managementAudience))",
                ["identifier": "https://elsewhere/"], 400, "identifier"
            ),
            ("POST", "/api/v2/resource-servers", ["identifier": .string(env.tenant.managementAudience)], 409, "already exists"),
            ("GET", "/api/v2/resource-servers/nope", nil, 404, "does not exist"),
        ]
        for (method, path, body, status, named) in cases {
            let answer = try await env.call(ResourceServersFunction(), method, path, token: token, json: body)
            #expect(answer.status == status, "\(method) \(path) \(body): \(answer.body)")
            #expect(answer.object["message"]?.stringValue?.contains(named) == true, "\(method) \(path) \(body): \(answer.body)")
        }

        // The Management API: listed as the system API with every Management API scope; its lifetime can change.
        let system = try await env.call(
            ResourceServersFunction(), "PATCH", "/api/v2/resource-servers/\(Self.encoded(env.tenant.managementAudience))", token: token,
            json: ["token_lifetime": 3600])
        #expect(system.status == 200 && system.object["is_system"] == true && system.object["token_lifetime"] == 3600, "\(system.body)")
        let values = (system.object["scopes"]?.arrayValue ?? []).compactMap { $0.objectValue?["value"]?.stringValue }
        #expect(values == Provisioning.managementAPIScopes)
        #expect(values.contains("read:resource_servers") && values.contains("delete:client_grants"))
    }

    @Test("records stored before the Management API existed decode: bare scopes, derived ids, default settings")
    func legacyRecordsDecode() async throws {
        let env = try await InProcessTenant()
        let legacyAPI: JSONValue = ["identifier": "urn:legacy", "name": "Legacy", "scopes": ["read:a", "write:a"]]
        try await env.store.put(StoreKeys.resourceServer(env.tenant.id, "urn:legacy"), try JSON.encode(legacyAPI))
        let legacyGrant: JSONValue = ["clientId": .string(env.provisioned.app.clientId), "audience": "urn:legacy", "scope": ["read:a"]]
        try await env.store.put(
            StoreKeys.clientGrant(env.tenant.id, env.provisioned.app.clientId, "urn:legacy"), try JSON.encode(legacyGrant))

        let (api, _) = try #require(try await ResourceServers(store: env.store, tenant: env.tenant).get(identifier: "urn:legacy"))
        #expect(api.scopeValues == ["read:a", "write:a"] && api.id == ResourceServer.legacyId("urn:legacy") && api.tokenLifetime == nil)
        #expect(api.allowOfflineAccess == false && api.signingAlg == "RS256")

        let token = try await env.managementToken(Self.allScopes)
        let got = try await env.call(ResourceServersFunction(), "GET", "/api/v2/resource-servers/\(api.id)", token: token)
        #expect(got.status == 200 && got.object["token_lifetime"] == .int(Int64(env.tenant.settings.accessTokenLifetime)))
        let grants = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants?audience=urn:legacy", token: token)
        let grantId = ClientGrant.legacyId(clientId: env.provisioned.app.clientId, audience: "urn:legacy")
        #expect(grants.body.arrayValue?.first?.objectValue?["id"] == .string(grantId), "\(grants.body)")
        let one = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants/\(grantId)", token: token)
        #expect(one.status == 200 && one.object["scope"] == ["read:a"])
    }

    @Test("client grants: create, 409 duplicate pair, 404 unknown client or audience, 400 undefined scope, filters, patch, delete")
    func clientGrantsCRUD() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken(Self.allScopes)
        _ = try await Self.createAPI(env, ["identifier": "urn:reports", "scopes": [["value": "read:reports"], ["value": "run:reports"]]])
        let app = env.provisioned.app.clientId
        let created = try await env.call(
            ClientGrantsFunction(), "POST", "/api/v2/client-grants", token: token,
            json: ["client_id": .string(app), "audience": "urn:reports", "scope": ["read:reports"]])
        #expect(created.status == 201, "\(created.body)")
        let id = try #require(created.object["id"]?.stringValue)
        #expect(id.hasPrefix("cgr_") && created.object["scope"] == ["read:reports"])

        let failures: [(JSONValue, Int, String)] = [
            (["client_id": .string(app), "audience": "urn:reports", "scope": []], 409, "conflict"),
            (["client_id": "nobody", "audience": "urn:reports", "scope": []], 404, "inexistent_client"),
            (["client_id": .string(app), "audience": "urn:nothing", "scope": []], 404, "inexistent_resource_server"),
            (
                ["client_id": .string(env.provisioned.management.clientId), "audience": "urn:reports", "scope": ["delete:reports"]], 400,
                "invalid_body"
            ),
            (["client_id": .string(app), "audience": "urn:reports"], 400, "invalid_body"),
        ]
        for (body, status, code) in failures {
            let answer = try await env.call(ClientGrantsFunction(), "POST", "/api/v2/client-grants", token: token, json: body)
            #expect(answer.status == status && answer.object["errorCode"]?.stringValue == code, "\(body): \(answer.body)")
        }

        let mine = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants?client_id=\(app)", token: token)
        #expect(mine.body.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } == [id])
        let management = try await env.call(
            ClientGrantsFunction(), "GET", "/api/v2/client-grants?audience=\(Self.encoded(env.tenant.managementAudience))", token: token)
        #expect(management.body.arrayValue?.count == 1, "init's grant for the Management API")
        let all = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants?include_totals=true&per_page=1", token: token)
        #expect(all.object["total"] == 2 && all.object["client_grants"]?.arrayValue?.count == 1)
        let first = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants?take=1", token: token)
        let next = try #require(first.object["next"]?.stringValue)
        let second = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants?take=1&from=\(next)", token: token)
        #expect(second.object["next"] == nil && second.object["client_grants"]?.arrayValue?.count == 1)

        let patched = try await env.call(
            ClientGrantsFunction(), "PATCH", "/api/v2/client-grants/\(id)", token: token, json: ["scope": ["read:reports", "run:reports"]])
        #expect(patched.status == 200 && patched.object["scope"] == ["read:reports", "run:reports"])
        let undefined = try await env.call(
            ClientGrantsFunction(), "PATCH", "/api/v2/client-grants/\(id)", token: token, json: ["scope": ["nope"]])
        #expect(undefined.status == 400 && undefined.object["message"]?.stringValue?.contains("nope") == true)

        #expect(try await env.call(ClientGrantsFunction(), "DELETE", "/api/v2/client-grants/\(id)", token: token).status == 204)
        let gone = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants/\(id)", token: token)
        #expect(gone.status == 404 && gone.object["errorCode"] == "inexistent_client_grant")
    }

    @Test("deleting an API deletes its client grants: an API re-created with the same identifier starts with none")
    func deletingAnAPIDeletesItsGrants() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken(Self.allScopes)
        let api = try await Self.createAPI(env, ["identifier": "urn:temp", "scopes": [["value": "x"]]])
        let grant = try await env.call(
            ClientGrantsFunction(), "POST", "/api/v2/client-grants", token: token,
            json: ["client_id": .string(env.provisioned.app.clientId), "audience": "urn:temp", "scope": ["x"]])
        #expect(grant.status == 201)
        let id = try #require(api["id"]?.stringValue)
        #expect(try await env.call(ResourceServersFunction(), "DELETE", "/api/v2/resource-servers/\(id)", token: token).status == 204)
        _ = try await Self.createAPI(env, ["identifier": "urn:temp", "scopes": [["value": "x"]]])
        let grants = try await env.call(ClientGrantsFunction(), "GET", "/api/v2/client-grants?audience=urn:temp", token: token)
        #expect(grants.body == [])
    }

    // MARK: - What an API's settings change at /oauth/token

    func passwordLogin(_ env: InProcessTenant, audience: String, scope: String) async throws -> InProcessTenant.Answer {
        try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: [
                "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": .string(Connection.defaultName),
                "client_id": .string(env.provisioned.app.clientId), "client_secret": .string(env.provisioned.app.clientSecret ?? ""),
                "username": "api-user@example.com", "password": "Corr3ct-Horse!", "audience": .string(audience), "scope": .string(scope),
            ])
    }

    @Test("user grants: only scopes the API defines; token_lifetime sets exp; no refresh token unless the API allows offline access")
    func userGrantsFollowTheAPI() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken(Self.allScopes)
        _ = try await env.createUser("api-user@example.com")
        let api = try await Self.createAPI(
            env, ["identifier": "urn:notes", "scopes": [["value": "read:notes"]], "token_lifetime": 120, "allow_offline_access": false])
        let id = try #require(api["id"]?.stringValue)

        let login = try await passwordLogin(env, audience: "urn:notes", scope: "openid read:notes write:notes offline_access")
        #expect(login.status == 200, "\(login.body)")
        #expect(login.object["scope"] == "openid read:notes", "undefined scopes and offline_access are dropped")
        #expect(login.object["refresh_token"] == nil, "allow_offline_access false: no refresh token")
        #expect(login.object["expires_in"] == 120)
        let claims = try JWT.decodeUnverified(try #require(login.object["access_token"]?.stringValue)).claims
        #expect((claims["exp"]?.intValue ?? 0) - (claims["iat"]?.intValue ?? 0) == 120)

        let allow = try await env.call(
            ResourceServersFunction(), "PATCH", "/api/v2/resource-servers/\(id)", token: token, json: ["allow_offline_access": true])
        #expect(allow.status == 200)
        let offline = try await passwordLogin(env, audience: "urn:notes", scope: "openid read:notes offline_access")
        #expect(offline.object["refresh_token"] != nil && offline.object["scope"] == "openid read:notes offline_access")

        let unknown = try await passwordLogin(env, audience: "urn:nobody", scope: "openid")
        #expect(
            unknown.status == 403 && unknown.object == ["error": "access_denied", "error_description": "Service not found: urn:nobody"])
    }

    @Test("client_credentials: scopes the grant allows and the API still defines; the API's token_lifetime")
    func clientCredentialsFollowTheGrantAndTheAPI() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken(Self.allScopes)
        let m2m = env.provisioned.management
        let api = try await Self.createAPI(
            env, ["identifier": "urn:jobs", "scopes": [["value": "run:jobs"], ["value": "stop:jobs"], ["value": "admin:jobs"]]])
        let id = try #require(api["id"]?.stringValue)
        let grant = try await env.call(
            ClientGrantsFunction(), "POST", "/api/v2/client-grants", token: token,
            json: ["client_id": .string(m2m.clientId), "audience": "urn:jobs", "scope": ["run:jobs", "stop:jobs"]])
        #expect(grant.status == 201)
        func exchange() async throws -> InProcessTenant.Answer {
            try await env.call(
                TokenFunction(), "POST", "/oauth/token",
                json: [
                    "grant_type": "client_credentials", "client_id": .string(m2m.clientId),
                    "client_secret": .string(m2m.clientSecret ?? ""),
                    "audience": "urn:jobs",
                ])
        }
        let first = try await exchange()
        #expect(first.status == 200 && first.object["scope"] == "run:jobs stop:jobs", "the grant's scopes, not admin:jobs")
        #expect(first.object["expires_in"] == .int(Int64(env.tenant.settings.accessTokenLifetime)), "no token_lifetime: the tenant's")

        let narrowed = try await env.call(
            ResourceServersFunction(), "PATCH", "/api/v2/resource-servers/\(id)", token: token,
            json: ["scopes": [["value": "run:jobs"]], "token_lifetime": 300])
        #expect(narrowed.status == 200)
        let second = try await exchange()
        #expect(second.object["scope"] == "run:jobs", "a scope the API no longer defines is not issued")
        let claims = try JWT.decodeUnverified(try #require(second.object["access_token"]?.stringValue)).claims
        #expect((claims["exp"]?.intValue ?? 0) - (claims["iat"]?.intValue ?? 0) == 300 && second.object["expires_in"] == 300)
    }
}
