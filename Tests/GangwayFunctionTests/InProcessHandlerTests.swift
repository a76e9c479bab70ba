import Foundation
import GangwayAuth0
import Testing

@testable import identities
@testable import store_purge
@testable import token
@testable import userinfo
@testable import users
@testable import well_known

/// A tenant in a real SQLite store in a temporary directory, provisioned as `gangway init` does, and its functions'
/// handlers called in this process: events go in through the drivers' own path, responses come out, no process starts.
final class InProcessTenant {
    let directory: String
    let store: any KeyValueStore
    let provisioned: Provisioning.Result
    let tenant: Tenant
    let host: String
    let routes: RouteTable
    /// As a function process gets it: GANGWAY_SECRET_KEY opens the tenant's sealed signing key.
    let configuration = Configuration(environment: ["GANGWAY_SECRET_KEY": SecretBox.generateKey()])

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gangway-inproc-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try Store.open(url: "sqlite:\(directory)/gangway.db")
        host = "inproc-\(UUID().uuidString.prefix(8).lowercased()).test"
        provisioned = try await Provisioning(store: store, secrets: try SecretBox(configuration: configuration))
            .initialize(issuer: "https://\(host)/")
        tenant = try #require(try await TenantDirectory(store: store).tenant(host: host))
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        routes = try RouteTable.load(path: packageRoot.path + "/infra/routes.json")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var issuer: String { tenant.issuer }

    /// The event API Gateway would hand the function routed for `method path` (route key and decoded path parameters).
    func event(_ method: String, _ target: String, token: String? = nil, json body: JSONValue? = nil, host: String? = nil) throws
        -> GatewayEvent
    {
        // `path?query`: the query as API Gateway hands it over (decoded; a repeated name's values joined by commas).
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let rawQuery = parts.count > 1 ? String(parts[1]) : ""
        var query: [String: String] = [:]
        for pair in rawQuery.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).removingPercentEncoding ?? ""
            }
            query[kv[0]] = query[kv[0]].map { $0 + "," + (kv.count > 1 ? kv[1] : "") } ?? (kv.count > 1 ? kv[1] : "")
        }
        guard case .matched(let match) = routes.match(method: method, path: path) else {
            throw GatewayError("no route for \(method) \(path)")
        }
        var headers = ["host": host ?? self.host]
        if let token { headers["authorization"] = "Bearer \(token)" }
        if body != nil { headers["content-type"] = "application/json" }
        return GatewayEvent(
            routeKey: match.route.routeKey, rawPath: path, rawQueryString: rawQuery, headers: headers,
            queryStringParameters: query.isEmpty ? nil : query,
            pathParameters: match.parameters.isEmpty ? nil : match.parameters,
            requestContext: .init(
                domainName: host ?? self.host, requestId: UUID().uuidString,
                http: .init(method: method, path: path, sourceIp: "192.0.2.7", userAgent: "in-process")
            ),
            body: try body.map { try JSON.string($0) }, isBase64Encoded: false
        )
    }

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: JSONValue
        var object: [String: JSONValue] { body.objectValue ?? [:] }
    }

    func call(
        _ handler: some FunctionHandler, _ method: String, _ path: String, token: String? = nil, json: JSONValue? = nil,
        host: String? = nil,
        through store: (any KeyValueStore)? = nil
    ) async throws -> Answer {
        let response = try await handler.respond(
            to: event(method, path, token: token, json: json, host: host), store: store ?? self.store, configuration: configuration)
        let body = (try? JSON.decode(JSONValue.self, from: Data(response.body.utf8))) ?? .null
        return Answer(status: response.statusCode, headers: response.headers, body: body)
    }

    /// A token signed with the tenant's current key; `iss`, `iat` and `exp` filled in unless given.
    func sign(_ claims: [String: JSONValue], type: String = AccessToken.type) async throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        var all: [String: JSONValue] = ["iss": .string(issuer), "iat": .int(now), "exp": .int(now + 600)]
        all.merge(claims) { _, given in given }
        return try await KeyRing.load(store, tenant: tenant, secrets: try SecretBox(configuration: configuration)).sign(all, type: type)
    }

    /// A client-credentials Management API token, as the tenant's machine-to-machine application gets one.
    func managementToken(_ scope: String, type: String = AccessToken.type, extra: [String: JSONValue] = [:]) async throws -> String {
        var claims: [String: JSONValue] = [
            "sub": .string(provisioned.management.clientId + "@clients"), "aud": .string(tenant.managementAudience),
            "scope": .string(scope), "azp": .string(provisioned.management.clientId), "gty": "client-credentials",
        ]
        claims.merge(extra) { _, given in given }
        return try await sign(claims, type: type)
    }

    /// A user created through the users function (create:users); its `user_id`.
    func createUser(_ email: String, password: String = "Corr3ct-Horse!") async throws -> String {
        let created = try await call(
            UsersFunction(), "POST", "/api/v2/users", token: managementToken("create:users"),
            json: ["connection": .string(Connection.defaultName), "email": .string(email), "password": .string(password)]
        )
        #expect(created.status == 201, "\(created.body)")
        return try #require(created.object["user_id"]?.stringValue)
    }
}

struct GatewayError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite("Function handlers, in process")
struct InProcessHandlerTests {
    @Test("well-known: the JWKS publishes the current key, discovery names the issuer; an unknown host is 404")
    func wellKnown() async throws {
        let env = try await InProcessTenant()
        let jwks = try await env.call(WellKnownFunction(), "GET", "/.well-known/jwks.json")
        #expect(jwks.status == 200 && jwks.headers["cache-control"] == "public, max-age=60")
        let current = try #require(try await KeyRing.load(env.store, tenant: env.tenant).keySet.current?.kid)
        let keys = jwks.object["keys"]?.arrayValue ?? []
        #expect(keys.compactMap { $0.objectValue?["kid"]?.stringValue } == [current])
        #expect(keys.first?.objectValue?["d"] == nil, "no private part")

        let discovery = try await env.call(WellKnownFunction(), "GET", "/.well-known/openid-configuration")
        #expect(discovery.status == 200 && discovery.object["issuer"]?.stringValue == env.issuer)
        #expect(discovery.object["jwks_uri"]?.stringValue == env.issuer + ".well-known/jwks.json")

        let stranger = try await env.call(WellKnownFunction(), "GET", "/.well-known/jwks.json", host: "nobody.test")
        #expect(stranger.status == 404)
        #expect(stranger.object == ["error": "unknown_tenant", "error_description": "No tenant is configured for this host."])
    }

    @Test("userinfo: missing, invalid and ID tokens get Bearer challenges; no openid is 403; a good token gets the profile")
    func userinfo() async throws {
        let env = try await InProcessTenant()
        let sub = try await env.createUser("ada@example.com")
        let audiences: JSONValue = [.string(env.tenant.managementAudience), .string(env.tenant.userinfoAudience)]
        func userToken(scope: String, type: String = AccessToken.type) async throws -> String {
            try await env.sign(["sub": .string(sub), "aud": audiences, "scope": .string(scope)], type: type)
        }

        let missing = try await env.call(UserinfoFunction(), "GET", "/userinfo")
        #expect(missing.status == 401 && missing.headers["www-authenticate"] == "Bearer realm=\"\(env.issuer)\"")
        #expect(missing.object == ["error": "invalid_request", "error_description": "Missing access token."])
        #expect(missing.headers["cache-control"] == "no-store")

        let garbage = try await env.call(UserinfoFunction(), "GET", "/userinfo", token: "not.a.token")
        #expect(garbage.status == 401 && garbage.object["error"] == "invalid_token")
        #expect(
            garbage.headers["www-authenticate"]?.hasPrefix("Bearer realm=\"\(env.issuer)\", error=\"invalid_token\", error_description=\"")
                == true)

        let idToken = try await env.call(UserinfoFunction(), "POST", "/userinfo", token: userToken(scope: "openid", type: "JWT"))
        let refusal = "Only access tokens are accepted; ID tokens are not API credentials."
        #expect(idToken.status == 401 && idToken.object == ["error": "invalid_token", "error_description": .string(refusal)])
        #expect(
            idToken.headers["www-authenticate"]
                == "Bearer realm=\"\(env.issuer)\", error=\"invalid_token\", error_description=\"\(refusal)\""
        )

        let noOpenid = try await env.call(UserinfoFunction(), "GET", "/userinfo", token: userToken(scope: "profile"))
        #expect(noOpenid.status == 403 && noOpenid.object["error"] == "insufficient_scope")
        #expect(noOpenid.headers["www-authenticate"]?.hasSuffix("scope=\"openid\"") == true)

        let profile = try await env.call(UserinfoFunction(), "GET", "/userinfo", token: userToken(scope: "openid email"))
        #expect(profile.status == 200 && profile.object["sub"]?.stringValue == sub && profile.object["email"] == "ada@example.com")
        #expect(profile.object["user_id"] == nil && profile.headers["cache-control"] == "no-store")
    }

    @Test("Management API front door: 401 unauthorized / invalid_token, 403 insufficient_scope, in the hapi shape")
    func managementFrontDoor() async throws {
        let env = try await InProcessTenant()
        let missing = try await env.call(UsersFunction(), "GET", "/api/v2/users")
        #expect(
            missing.object
                == ["statusCode": 401, "error": "Unauthorized", "message": "Missing authentication", "errorCode": "unauthorized"]
        )

        let idToken = try await env.call(UsersFunction(), "GET", "/api/v2/users", token: env.managementToken("read:users", type: "JWT"))
        #expect(idToken.status == 401 && idToken.object["errorCode"] == "invalid_token")
        #expect(idToken.object["message"] == "Invalid token: Only access tokens are accepted; ID tokens are not API credentials.")

        let now = Int64(Date().timeIntervalSince1970)
        let expired = try await env.call(
            UsersFunction(), "GET", "/api/v2/users",
            token: env.managementToken("read:users", extra: ["iat": .int(now - 7200), "exp": .int(now - 3600)])
        )
        #expect(expired.status == 401 && expired.object["message"] == "Invalid token: token has expired")

        let noSubject = try await env.call(
            UsersFunction(), "GET", "/api/v2/users", token: env.managementToken("read:users", extra: ["sub": ""]))
        #expect(noSubject.status == 401 && noSubject.object["message"] == "Invalid token: The token has no subject.")

        let wrongScope = try await env.call(UsersFunction(), "GET", "/api/v2/users", token: env.managementToken("read:logs"))
        #expect(
            wrongScope.object
                == [
                    "statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: read:users",
                    "errorCode": "insufficient_scope",
                ]
        )

        let ok = try await env.call(UsersFunction(), "GET", "/api/v2/users", token: env.managementToken("read:users"))
        #expect(ok.status == 200 && ok.body.arrayValue != nil)
    }

    @Test("link_with judges the header before the signature; the Management API after it (each door keeps its answers)")
    func verificationOrderPerDoor() async throws {
        let env = try await InProcessTenant()
        let primary = try await env.createUser("primary@example.com")
        let secondary = try await env.createUser("secondary@example.com")
        let admin = try await env.managementToken("update:users read:users", extra: ["azp": .string(env.provisioned.app.clientId)])
        let idClaims: [String: JSONValue] = ["sub": .string(secondary), "aud": .string(env.provisioned.app.clientId)]
        let path = "/api/v2/users/" + (primary.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? primary) + "/identities"
        func link(_ linkWith: String) async throws -> InProcessTenant.Answer {
            try await env.call(IdentitiesFunction(), "POST", path, token: admin, json: ["link_with": .string(linkWith)])
        }
        /// A token whose last signature byte is flipped.
        func forged(_ token: String) -> String {
            var parts = token.split(separator: ".").map(String.init)
            var signature = Base64URL.decode(parts[2])!
            signature[signature.count - 1] ^= 1
            parts[2] = Base64URL.encode(signature)
            return parts.joined(separator: ".")
        }

        // An access token with a broken signature: link_with says "wrong kind" (400), the front door "forged" (401).
        let forgedAccessToken = forged(try await env.sign(idClaims, type: AccessToken.type))
        let asLinkWith = try await link(forgedAccessToken)
        #expect(asLinkWith.status == 400 && asLinkWith.object["errorCode"] == "invalid_link_with")
        #expect(asLinkWith.object["message"] == "link_with: must be an ID token (typ JWT); an access token (typ at+jwt) is not accepted")
        let forgedManagement = forged(try await env.managementToken("read:users", type: "JWT"))
        let atFrontDoor = try await env.call(UsersFunction(), "GET", "/api/v2/users", token: forgedManagement)
        #expect(atFrontDoor.status == 401 && atFrontDoor.object["message"] == "Invalid token: token signature is invalid")

        let notAJWT = try await link("not-a-token")
        #expect(
            notAJWT.status == 400 && notAJWT.object["message"] == "link_with: not a JWT (token must have exactly 3 dot-separated parts)")
        let badSignature = try await link(forged(try await env.sign(idClaims, type: "JWT")))
        #expect(badSignature.status == 401 && badSignature.object["message"] == "link_with: the ID token's signature is invalid")
        let wrongAudience = try await link(try await env.sign(["sub": .string(secondary), "aud": "another-client"], type: "JWT"))
        #expect(wrongAudience.status == 401)
        #expect(
            wrongAudience.object["message"]?.stringValue
                == "link_with: the ID token's aud must equal the azp of the access token making the request (\(env.provisioned.app.clientId))"
        )

        let linked = try await link(try await env.sign(idClaims, type: "JWT"))
        #expect(linked.status == 201 && linked.body.arrayValue?.count == 2, "\(linked.body)")
    }

    @Test("token: a password grant issues access, ID and refresh tokens; the refresh token rotates; userinfo takes the access token")
    func passwordGrantAndRefresh() async throws {
        let env = try await InProcessTenant()
        let sub = try await env.createUser("grace@example.com", password: "Corr3ct-Horse!")
        let app = env.provisioned.app
        let login = try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: [
                "grant_type": "password", "client_id": .string(app.clientId), "client_secret": .string(app.clientSecret ?? ""),
                "username": "grace@example.com", "password": "Corr3ct-Horse!", "scope": "openid email offline_access",
            ]
        )
        #expect(login.status == 200 && login.object["token_type"] == "Bearer", "\(login.body)")
        #expect(login.headers["cache-control"] == "no-store")
        let access = try #require(login.object["access_token"]?.stringValue)
        let refresh = try #require(login.object["refresh_token"]?.stringValue)
        let verifier = try await TokenVerifier.load(env.store, tenant: env.tenant)
        #expect(try verifier.verify(access, as: AccessToken.self, audience: env.tenant.userinfoAudience).subject == sub)
        #expect(try verifier.verify(login.object["id_token"]?.stringValue, as: IDToken.self, audience: app.clientId).subject == sub)

        let profile = try await env.call(UserinfoFunction(), "GET", "/userinfo", token: access)
        #expect(profile.status == 200 && profile.object["sub"]?.stringValue == sub && profile.object["email"] == "grace@example.com")

        let wrongPassword = try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: [
                "grant_type": "password", "client_id": .string(app.clientId), "client_secret": .string(app.clientSecret ?? ""),
                "username": "grace@example.com", "password": "wrong",
            ]
        )
        #expect(wrongPassword.status == 403 && wrongPassword.object["error"] == "invalid_grant")

        let refreshed = try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: [
                "grant_type": "refresh_token", "client_id": .string(app.clientId), "client_secret": .string(app.clientSecret ?? ""),
                "refresh_token": .string(refresh),
            ]
        )
        #expect(refreshed.status == 200, "\(refreshed.body)")
        let rotated = try #require(refreshed.object["refresh_token"]?.stringValue)
        #expect(rotated != refresh)
        #expect(
            try verifier.verify(refreshed.object["access_token"]?.stringValue, as: AccessToken.self, audience: env.tenant.userinfoAudience)
                .subject == sub)
    }

    @Test("an event that is not JSON, or too large, is answered in the function's error shape without reaching the handler")
    func malformedEvents() async throws {
        let env = try await InProcessTenant()
        let malformed = await UsersFunction().respond(toEventBytes: Array("{".utf8), store: env.store)
        #expect(malformed.statusCode == 400 && malformed.body.contains("\"errorCode\":\"invalid_request\""))
        var small = Configuration(environment: [:])
        small.maxEventBytes = 16
        let large = await TokenFunction().respond(
            toEventBytes: Array(repeating: UInt8(ascii: " "), count: 17), store: env.store, configuration: small)
        #expect(large.statusCode == 413 && large.body.contains("\"error\":\"request_too_large\""))
    }

    @Test("store-purge: removes the records past their time to live, keeps the others, and says how many it removed")
    func storePurge() async throws {
        let env = try await InProcessTenant()
        try await env.store.put("purge-test/expired", Data("x".utf8), ttl: .milliseconds(5))
        try await env.store.put("purge-test/live", Data("y".utf8), ttl: .seconds(600))
        try await Task.sleep(for: .milliseconds(20))
        let event = GatewayEvent(
            routeKey: "SCHEDULE store-purge", rawPath: "/", rawQueryString: "", headers: [:], queryStringParameters: nil,
            pathParameters: nil,
            requestContext: .init(
                domainName: "schedule", requestId: "schedule", http: .init(method: "POST", path: "/", sourceIp: "127.0.0.1", userAgent: "t")
            ),
            body: nil, isBase64Encoded: false)
        let response = try await StorePurgeFunction().respond(to: event, store: env.store, configuration: env.configuration)
        #expect(response.statusCode == 200 && response.body.contains(#""purged":1"#), "\(response.body)")
        #expect(try await env.store.get("purge-test/expired") == nil)
        #expect(try await env.store.get("purge-test/live") != nil)
    }
}
