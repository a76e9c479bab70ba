import Foundation
import GangwayAuth0
import Synchronization
import Testing

/// A fresh store and the real gateway, with a tenant on its own host (`tokens.test:<port>`) so the issuer,
/// the Host header and every CLI call agree. Users, apps and settings are made with the real `gangway` CLI.
final class TokenWorld {
    let scratch = Scratch()
    let gateway: GatewayProcess
    let tenant: InitResult
    let host: String
    var issuer: String { tenant.issuer }
    var app: (id: String, secret: String) { (tenant.app.client_id, tenant.app.client_secret ?? "") }
    var m2m: (id: String, secret: String) { (tenant.management.client_id, tenant.management.client_secret ?? "") }
    var management: String { issuer + "api/v2/" }
    var userinfo: String { issuer + "userinfo" }

    init(mode: String = "warm") throws {
        gateway = try GatewayProcess(store: scratch.store, mode: mode)
        host = "tokens.test:\(gateway.port)"
        tenant = try initTenant(store: scratch.store, issuer: "http://\(host)/")
    }

    /// `gangway <args> --store … --tenant …`, which must succeed.
    @discardableResult
    func cli(_ args: [String]) throws -> String {
        let result = try gangway(args + ["--store", scratch.store, "--tenant", issuer])
        #expect(result.status == 0, "gangway \(args.joined(separator: " ")): \(result.stderr)")
        return result.text
    }

    @discardableResult
    func createUser(_ email: String, _ password: String, connection: String? = nil) throws -> String {
        var args = ["users", "create", "--email", email, "--password", password]
        if let connection { args += ["--connection", connection] }
        let out = try JSONDecoder().decode([String: String].self, from: Data(try cli(args).utf8))
        return out["user_id"] ?? ""
    }

    func createApp(_ name: String, grants: [String], public isPublic: Bool = false) throws -> (id: String, secret: String?) {
        let out = try JSONDecoder().decode(
            [String: String].self,
            from: Data(
                try cli(
                    ["apps", "create", "--name", name, "--grant-types", grants.joined(separator: ",")] + (isPublic ? ["--public"] : [])
                ).utf8)
        )
        return (out["client_id"] ?? "", out["client_secret"])
    }

    func setTenant(_ args: [String]) throws { try cli(["tenant", "set"] + args) }

    struct Reply {
        var status: Int
        var body: [String: JSONValue]
        var headers: [String: String]
        var error: String? { body["error"]?.stringValue }
        var description: String? { body["error_description"]?.stringValue }
        subscript(_ key: String) -> String? { body[key]?.stringValue }
        /// Time the function spent, from the gateway's `Server-Timing: fn;dur=<ms>`.
        var functionMilliseconds: Double {
            Double(headers["server-timing"]?.split(separator: "=").last.map(String.init) ?? "") ?? -1
        }
    }

    func post(body: [UInt8], contentType: String, headers: [(String, String)] = []) throws -> Reply {
        let response = try gateway.request(
            "POST", "/oauth/token", headers: [("Host", host), ("Content-Type", contentType)] + headers, body: body
        )
        let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)))?.objectValue ?? [:]
        return Reply(status: response.status, body: value, headers: response.headers)
    }

    func post(_ json: [String: JSONValue], headers: [(String, String)] = []) throws -> Reply {
        try post(body: Array(try JSON.encode(JSONValue.object(json))), contentType: "application/json", headers: headers)
    }

    func postForm(_ fields: [(String, String)], headers: [(String, String)] = []) throws -> Reply {
        try post(body: Array(FormURLEncoding.encode(fields).utf8), contentType: "application/x-www-form-urlencoded", headers: headers)
    }

    /// The password-realm grant with the default app (JSON, client_secret_post).
    func login(
        _ username: String, _ password: String, scope: JSONValue = "openid profile email offline_access",
        audience: JSONValue = nil, realm: String = Connection.defaultName, client: (id: String, secret: String?)? = nil,
        headers: [(String, String)] = []
    ) throws -> Reply {
        let client = client ?? (app.id, app.secret)
        var body: [String: JSONValue] = [
            "grant_type": .string(GrantType.passwordRealm.rawValue), "client_id": .string(client.id),
            "username": .string(username), "password": .string(password), "realm": .string(realm), "scope": scope, "audience": audience,
        ]
        if let secret = client.secret { body["client_secret"] = .string(secret) }
        return try post(body, headers: headers)
    }

    func refresh(_ token: String, scope: String = "", client: (id: String, secret: String?)? = nil) throws -> Reply {
        let client = client ?? (app.id, app.secret)
        var body: [String: JSONValue] = [
            "grant_type": "refresh_token", "client_id": .string(client.id), "refresh_token": .string(token), "scope": .string(scope),
        ]
        if let secret = client.secret { body["client_secret"] = .string(secret) }
        return try post(body)
    }

    /// The tenant's log entries, oldest first, and the raw stored text (for leak checks).
    func logs() throws -> (entries: [LogEntry], raw: String) {
        let raw = try gangway(["store", "list", "--store", scratch.store, "--prefix", StoreKeys.logs(tenant.tenant)]).text
        let entries = raw.split(separator: "\n").compactMap { line -> LogEntry? in
            guard let json = line.split(separator: "\t", maxSplits: 2).last else { return nil }
            let decoder = JSONDecoder()
            return try? decoder.decode(LogEntry.self, from: Data(json.utf8))
        }
        return (entries, raw)
    }

    func logTypes() throws -> [String] { try logs().entries.map(\.type.rawValue) }

    func ring() async throws -> KeyRing {
        let store = try Store.open(url: scratch.store)
        let tenant = try #require(try await TenantDirectory(store: store).tenant(host: host))
        return try await KeyRing.load(store, tenant: tenant)
    }

    /// Rewrites a stored user (as an operator editing the store would).
    func editUser(_ userId: String, _ change: (inout [String: JSONValue]) -> Void) async throws {
        let store = try Store.open(url: scratch.store)
        let key = StoreKeys.user(tenant.tenant, userId)
        let record = try #require(try await store.get(key))
        var user = try JSONDecoder().decode(JSONValue.self, from: record.value).objectValue ?? [:]
        change(&user)
        try await store.put(key, try JSON.encode(JSONValue.object(user)))
    }

    func deleteUser(_ userId: String) async throws {
        try await Store.open(url: scratch.store).delete(StoreKeys.user(tenant.tenant, userId))
    }
}

func header(_ token: String) throws -> [String: JSONValue] { try JWT.decodeUnverified(token).header }
func claims(_ token: String) throws -> [String: JSONValue] { try JWT.decodeUnverified(token).claims }

@Suite("POST /oauth/token")
struct TokenEndpointTests {
    // MARK: - Password grants

    @Test("password-realm: access token (at+jwt) for /userinfo, ID token (JWT) with profile claims and nonce, refresh token")
    func passwordRealmSuccess() async throws {
        let world = try TokenWorld()
        let userId = try world.createUser("Ada@Example.com", "correct horse 1")
        var body: [String: JSONValue] = [
            "grant_type": .string(GrantType.passwordRealm.rawValue), "client_id": .string(world.app.id),
            "client_secret": .string(world.app.secret), "username": "  ada@example.COM ", "password": "correct horse 1",
            "realm": .string(Connection.defaultName), "scope": "openid profile email offline_access", "nonce": "n-0S6_WzA2Mj",
        ]
        body["audience"] = nil
        let reply = try world.post(body)
        #expect(reply.status == 200, "\(reply.body)")
        #expect(reply.headers["cache-control"] == "no-store" && reply.headers["pragma"] == "no-cache")
        #expect(reply["token_type"] == "Bearer" && reply.body["expires_in"] == 86_400)
        #expect(reply["scope"] == "openid profile email offline_access")

        let ring = try await world.ring()
        let access = try #require(reply["access_token"])
        #expect(try header(access)["typ"] == "at+jwt")
        let at = try ring.verify(access, audience: world.userinfo)
        #expect(at["iss"]?.stringValue == world.issuer && world.issuer.hasSuffix("/"))
        #expect(at["sub"]?.stringValue == userId && at["azp"]?.stringValue == world.app.id)
        #expect(at["aud"] == .string(world.userinfo), "no audience: the token is for /userinfo only")
        #expect(at["gty"] == "password" && at["jti"]?.stringValue?.isEmpty == false)
        #expect(at["scope"] == "openid profile email offline_access")
        guard case .int(let iat)? = at["iat"], case .int(let exp)? = at["exp"] else {
            Issue.record("iat/exp not integers")
            return
        }
        #expect(exp - iat == 86_400)

        let idToken = try #require(reply["id_token"])
        #expect(try header(idToken)["typ"] == "JWT")
        let id = try ring.verify(idToken, audience: world.app.id)
        #expect(id["sub"]?.stringValue == userId && id["azp"]?.stringValue == world.app.id && id["nonce"] == "n-0S6_WzA2Mj")
        #expect(id["email"] == "Ada@Example.com" && id["email_verified"] == false && id["nickname"] == "Ada")
        #expect(id["iss"]?.stringValue == world.issuer)
        #expect((try? AccessToken.verify(idToken, ring: ring, audience: world.app.id)) == nil, "an ID token is no API credential")

        let refresh = try #require(reply["refresh_token"])
        #expect(refresh.hasPrefix("v1.") && refresh.count == 46, "`v1.` + 32 random bytes, base64url")

        // The login is counted on the user.
        let store = try Store.open(url: world.scratch.store)
        let user = try #require(try await store.getJSON(User.self, StoreKeys.user(world.tenant.tenant, userId))?.0)
        #expect(user.loginsCount == 1 && user.lastLogin != nil)
        // Only the hash of the refresh token is stored.
        let stored = try gangway([
            "store", "list", "--store", world.scratch.store, "--prefix", StoreKeys.refreshTokens(world.tenant.tenant),
        ]).text
        #expect(stored.contains(Digest.sha256Hex(refresh)) && !stored.contains(refresh))
    }

    @Test("password grant: form body with client_secret_basic, on the tenant's default connection")
    func passwordGrantFormAndBasic() async throws {
        let world = try TokenWorld()
        try world.createUser("bob@example.com", "hunter2hunter2")
        let basic = "Basic " + Data("\(world.app.id):\(world.app.secret)".utf8).base64EncodedString()
        let reply = try world.postForm(
            [("grant_type", "password"), ("username", "bob@example.com"), ("password", "hunter2hunter2"), ("scope", "openid")],
            headers: [("Authorization", basic)]
        )
        #expect(reply.status == 200, "\(reply.body)")
        #expect(reply["scope"] == "openid" && reply["id_token"] != nil && reply["refresh_token"] == nil)
        #expect(reply.headers["cache-control"] == "no-store")

        // Basic and a different body client_id: refused.
        let mixed = try world.postForm(
            [("grant_type", "password"), ("client_id", world.m2m.id), ("username", "bob@example.com"), ("password", "hunter2hunter2")],
            headers: [("Authorization", basic)]
        )
        #expect(mixed.status == 401 && mixed.error == "access_denied")
    }

    @Test("JSON null and empty strings count as not sent: null realm is missing, empty scope means the default scope")
    func nullAndEmpty() throws {
        let world = try TokenWorld()
        try world.createUser("carol@example.com", "pass-word-123")
        let noRealm = try world.post([
            "grant_type": .string(GrantType.passwordRealm.rawValue), "client_id": .string(world.app.id),
            "client_secret": .string(world.app.secret), "username": "carol@example.com", "password": "pass-word-123",
            "realm": nil, "scope": nil, "audience": nil,
        ])
        #expect(noRealm.status == 400 && noRealm.error == "invalid_request" && noRealm.description == "Missing required parameter: realm")
        let emptyScope = try world.login("carol@example.com", "pass-word-123", scope: "", audience: "")
        #expect(emptyScope.status == 200 && emptyScope["scope"] == "openid profile email", "no scope requested: openid profile email")
        let emptySecret = try world.post([
            "grant_type": "password", "client_id": .string(world.app.id), "client_secret": "",
            "username": "carol@example.com", "password": "pass-word-123",
        ])
        #expect(emptySecret.status == 401 && emptySecret.error == "access_denied", "an empty secret is no secret")
        let notAString = try world.post([
            "grant_type": "password", "client_id": .string(world.app.id), "client_secret": .string(world.app.secret), "username": 42,
            "password": "x",
        ])
        #expect(notAString.status == 400 && notAString.error == "invalid_request")
    }

    @Test("user grant at the Management API: only *:current_user* scopes survive, aud is [api, userinfo] with openid")
    func managementAudienceForUsersDropsAdminScopes() async throws {
        let world = try TokenWorld()
        try world.createUser("dave@example.com", "pw-dave-12345")
        let reply = try world.login(
            "dave@example.com", "pw-dave-12345", scope: "openid read:users delete:users read:current_user update:current_user_identities",
            audience: .string(world.management)
        )
        #expect(reply.status == 200, "\(reply.body)")
        #expect(reply["scope"] == "openid read:current_user update:current_user_identities")
        let at = try await world.ring().verify(try #require(reply["access_token"]), audience: world.management)
        #expect(at["aud"] == [.string(world.management), .string(world.userinfo)])
        #expect(at["scope"] == "openid read:current_user update:current_user_identities")

        let noOpenID = try world.login("dave@example.com", "pw-dave-12345", scope: "read:current_user", audience: .string(world.management))
        #expect(noOpenID.status == 200 && noOpenID["id_token"] == nil)
        #expect(try claims(try #require(noOpenID["access_token"]))["aud"] == .string(world.management))
    }

    // MARK: - Errors, one row each

    @Test("every error case has Auth0's status, code and wording, and no-store")
    func errorTable() async throws {
        let world = try TokenWorld()
        try world.createUser("erin@example.com", "erin-password-1")
        let blockedId = try world.createUser("mallory@example.com", "mallory-password-1")
        try await world.editUser(blockedId) { $0["blocked"] = true }
        let ccOnly = try world.createApp("worker", grants: ["client_credentials"])
        let app: [String: JSONValue] = ["client_id": .string(world.app.id), "client_secret": .string(world.app.secret)]
        let m2m: [String: JSONValue] = ["client_id": .string(world.m2m.id), "client_secret": .string(world.m2m.secret)]
        func with(_ base: [String: JSONValue], _ extra: [String: JSONValue]) -> [String: JSONValue] { base.merging(extra) { $1 } }
        let realm = GrantType.passwordRealm.rawValue
        let login: [String: JSONValue] = [
            "grant_type": .string(realm), "realm": .string(Connection.defaultName), "username": "erin@example.com",
            "password": "erin-password-1",
        ]

        let cases: [(String, [String: JSONValue], Int, String, String?)] = [
            ("missing grant_type", app, 400, "invalid_request", "Missing required parameter: grant_type"),
            (
                "unsupported grant", with(app, ["grant_type": "urn:ietf:params:oauth:grant-type:device_code"]), 400,
                "unsupported_grant_type", nil
            ),
            (
                "unsupported grant (token exchange)", with(app, ["grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"]), 400,
                "unsupported_grant_type", nil
            ),
            ("unknown client", with(login, ["client_id": "nobody", "client_secret": "x"]), 401, "access_denied", "Unauthorized"),
            (
                "wrong secret", with(login, ["client_id": .string(world.app.id), "client_secret": "wrong"]), 401, "access_denied",
                "Unauthorized"
            ),
            ("confidential client without secret", with(login, ["client_id": .string(world.app.id)]), 401, "access_denied", "Unauthorized"),
            ("missing client_id", login, 400, "invalid_request", "Missing required parameter: client_id"),
            (
                "grant not allowed for the app", with(m2m, with(login, ["grant_type": "password"])), 403, "unauthorized_client",
                "Grant type 'password' not allowed for the client."
            ),
            (
                "client_credentials not allowed for the first-party app",
                with(app, ["grant_type": "client_credentials", "audience": .string(world.management)]),
                403, "unauthorized_client", "Grant type 'client_credentials' not allowed for the client."
            ),
            ("missing username", with(app, with(login, ["username": nil])), 400, "invalid_request", "Missing required parameter: username"),
            ("missing password", with(app, with(login, ["password": ""])), 400, "invalid_request", "Missing required parameter: password"),
            (
                "unknown realm is 400 invalid_request as Auth0 documents", with(app, with(login, ["realm": "No-Such-DB"])), 400,
                "invalid_request",
                "the connection was not found"
            ),
            ("wrong password", with(app, with(login, ["password": "not-it"])), 403, "invalid_grant", "Wrong email or password."),
            (
                "unknown user answers exactly like a wrong password", with(app, with(login, ["username": "nobody@example.com"])), 403,
                "invalid_grant",
                "Wrong email or password."
            ),
            (
                "blocked user (right password)",
                with(app, with(login, ["username": "mallory@example.com", "password": "mallory-password-1"])), 401,
                "unauthorized", "user is blocked"
            ),
            (
                "unknown audience", with(app, with(login, ["audience": "https://nope.example/"])), 403, "access_denied",
                "Service not found: https://nope.example/"
            ),
            (
                "client_credentials for an unknown API",
                with(m2m, ["grant_type": "client_credentials", "audience": "https://nope.example/"]), 403,
                "access_denied", "Service not found: https://nope.example/"
            ),
            (
                "client_credentials without audience", with(m2m, ["grant_type": "client_credentials", "audience": nil]), 403,
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured"
            ),
            (
                "client_credentials without a client grant for the API",
                [
                    "grant_type": "client_credentials", "client_id": .string(ccOnly.id), "client_secret": .string(ccOnly.secret ?? ""),
                    "audience": .string(world.management),
                ], 403, "access_denied",
                "Client is not authorized to access \"\(world.management)\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
            ),
            (
                "unknown refresh token", with(app, ["grant_type": "refresh_token", "refresh_token": "v1.nope"]), 403, "invalid_grant",
                "Unknown or invalid refresh token."
            ),
            (
                "missing refresh token", with(app, ["grant_type": "refresh_token", "refresh_token": nil]), 400, "invalid_request",
                "Missing required parameter: refresh_token"
            ),
        ]
        for (name, body, status, error, description) in cases {
            let reply = try world.post(body)
            #expect(reply.status == status, "\(name): \(reply.status) \(reply.body)")
            #expect(reply.error == error, "\(name): \(reply.body)")
            if let description { #expect(reply.description == description, "\(name): \(reply.body)") }
            #expect(reply.headers["cache-control"] == "no-store" && reply.headers["pragma"] == "no-cache", "\(name)")
            #expect(reply["access_token"] == nil)
        }

        // Bodies that are not parameters at all.
        let notJSON = try world.post(body: Array("{nope".utf8), contentType: "application/json")
        #expect(notJSON.status == 400 && notJSON.error == "invalid_request" && notJSON.headers["cache-control"] == "no-store")
        let text = try world.post(body: Array("grant_type=password".utf8), contentType: "text/plain")
        #expect(text.status == 415)
    }

    @Test("unknown user and wrong password take the same time (a dummy bcrypt for unknown users)")
    func unknownUserTiming() throws {
        let world = try TokenWorld()
        try world.setTenant(["--brute-force-limit", "1000"])
        try world.createUser("frank@example.com", "frank-password-1")
        var wrong: [Double] = []
        var unknown: [Double] = []
        for i in 0..<5 {
            let w = try world.login("frank@example.com", "bad-\(i)")
            let u = try world.login("ghost\(i)@example.com", "bad-\(i)")
            #expect(w.status == 403 && u.status == 403 && w.body == u.body)
            wrong.append(w.functionMilliseconds)
            unknown.append(u.functionMilliseconds)
        }
        let medianWrong = wrong.sorted()[2]
        let medianUnknown = unknown.sorted()[2]
        // bcrypt at cost 10 dominates both; without the dummy hash an unknown user would answer many times faster.
        #expect(medianUnknown > medianWrong * 0.6, "unknown \(unknown) vs wrong \(wrong)")
    }

    // MARK: - Client credentials

    @Test("client_credentials: sub <id>@clients, gty client-credentials, scopes limited to the client grant")
    func clientCredentials() async throws {
        let world = try TokenWorld()
        let basic = "Basic " + Data("\(world.m2m.id):\(world.m2m.secret)".utf8).base64EncodedString()
        let all = try world.postForm(
            [("grant_type", "client_credentials"), ("audience", world.management)], headers: [("Authorization", basic)])
        #expect(all.status == 200, "\(all.body)")
        #expect(Set((all["scope"] ?? "").split(separator: " ").map(String.init)) == Set(Provisioning.managementScopes))
        #expect(all["id_token"] == nil && all["refresh_token"] == nil)
        let at = try await world.ring().verify(try #require(all["access_token"]), audience: world.management)
        #expect(
            at["sub"]?.stringValue == "\(world.m2m.id)@clients" && at["gty"] == "client-credentials"
                && at["azp"]?.stringValue == world.m2m.id)
        #expect(at["aud"] == .string(world.management))
        #expect(try header(try #require(all["access_token"]))["typ"] == "at+jwt")

        let some = try world.post([
            "grant_type": "client_credentials", "client_id": .string(world.m2m.id), "client_secret": .string(world.m2m.secret),
            "audience": .string(world.management), "scope": "read:users read:current_user not:a:scope",
        ])
        #expect(some.status == 200 && some["scope"] == "read:users", "requested ∩ granted")
    }

    // MARK: - Refresh tokens

    @Test(
        "refresh rotates; the ID token comes again; gty is [refresh_token, password]; a narrower scope is fine, a wider one is 400 invalid_scope"
    )
    func refreshRotation() async throws {
        let world = try TokenWorld()
        let userId = try world.createUser("gina@example.com", "gina-password-1")
        let first = try world.login("gina@example.com", "gina-password-1")
        let rt1 = try #require(first["refresh_token"])
        let second = try world.refresh(rt1)
        #expect(second.status == 200, "\(second.body)")
        let rt2 = try #require(second["refresh_token"])
        #expect(rt2 != rt1)
        #expect(second["scope"] == "openid profile email offline_access" && second["id_token"] != nil)
        #expect(second.headers["cache-control"] == "no-store")
        let at = try await world.ring().verify(try #require(second["access_token"]), audience: world.userinfo)
        #expect(at["gty"] == ["refresh_token", "password"] && at["sub"]?.stringValue == userId)

        let wider = try world.refresh(rt2, scope: "openid read:users")
        #expect(wider.status == 400 && wider.error == "invalid_scope")
        let narrower = try world.refresh(rt2, scope: "openid")
        #expect(narrower.status == 200 && narrower["scope"] == "openid", "the refused wider request did not burn the token")
        let rt3 = try #require(narrower["refresh_token"])
        let afterNarrow = try world.refresh(rt3)
        #expect(
            afterNarrow.status == 200 && afterNarrow["scope"] == "openid profile email offline_access",
            "the family keeps its original scope")
    }

    @Test("reuse of the just-rotated token within the leeway is accepted (two tabs racing)")
    func reuseWithinLeeway() throws {
        let world = try TokenWorld()
        try world.createUser("hal@example.com", "hal-password-1")
        let rt1 = try #require(try world.login("hal@example.com", "hal-password-1")["refresh_token"])
        let tabA = try world.refresh(rt1)
        let tabB = try world.refresh(rt1)
        #expect(tabA.status == 200 && tabB.status == 200, "\(tabB.body)")
        let a = try #require(tabA["refresh_token"])
        let b = try #require(tabB["refresh_token"])
        #expect(a != b)
        #expect(try world.refresh(a).status == 200 && world.refresh(b).status == 200, "both tabs keep working")
    }

    @Test("reuse after the leeway revokes the whole family: the newest token dies too, and ferrt is logged")
    func reuseAfterLeewayRevokesFamily() throws {
        let world = try TokenWorld()
        try world.setTenant(["--refresh-reuse-leeway", "1"])
        try world.createUser("ivy@example.com", "ivy-password-1")
        let rt1 = try #require(try world.login("ivy@example.com", "ivy-password-1")["refresh_token"])
        let rt2 = try #require(try world.refresh(rt1)["refresh_token"])
        Thread.sleep(forTimeInterval: 2.2)
        let reuse = try world.refresh(rt1)
        #expect(reuse.status == 403 && reuse.error == "invalid_grant" && reuse.description == "Unknown or invalid refresh token.")
        let newest = try world.refresh(rt2)
        #expect(newest.status == 403 && newest.error == "invalid_grant", "the family is revoked")
        #expect(try world.logTypes().contains("ferrt"))
    }

    @Test("within the leeway only the most recently rotated token is forgiven; an older one revokes the family")
    func olderTokenWithinLeewayRevokes() throws {
        let world = try TokenWorld()
        try world.createUser("jan@example.com", "jan-password-1")
        let rt1 = try #require(try world.login("jan@example.com", "jan-password-1")["refresh_token"])
        let rt2 = try #require(try world.refresh(rt1)["refresh_token"])
        let rt3 = try #require(try world.refresh(rt2)["refresh_token"])
        #expect(try world.refresh(rt1).status == 403)
        #expect(try world.refresh(rt3).status == 403, "family revoked")
    }

    @Test("client binding: client B cannot use client A's refresh token (and the attempt does not burn it)")
    func clientBinding() throws {
        let world = try TokenWorld()
        try world.createUser("kim@example.com", "kim-password-1")
        let other = try world.createApp("other", grants: ["password", "refresh_token", GrantType.passwordRealm.rawValue])
        let rt = try #require(try world.login("kim@example.com", "kim-password-1")["refresh_token"])
        let stolen = try world.refresh(rt, client: (other.id, other.secret))
        #expect(stolen.status == 403 && stolen.error == "invalid_grant" && stolen.description == "Unknown or invalid refresh token.")
        #expect(try world.refresh(rt).status == 200)

        // A confidential client must authenticate to refresh; a public client needs no secret.
        let rt2 = try #require(try world.login("kim@example.com", "kim-password-1")["refresh_token"])
        #expect(try world.refresh(rt2, client: (world.app.id, nil)).status == 401)
        let native = try world.createApp("native", grants: [GrantType.passwordRealm.rawValue, "refresh_token"], public: true)
        let publicLogin = try world.login("kim@example.com", "kim-password-1", client: (native.id, nil))
        #expect(publicLogin.status == 200, "\(publicLogin.body)")
        #expect(try world.refresh(try #require(publicLogin["refresh_token"]), client: (native.id, nil)).status == 200)
        // An app without the refresh_token grant gets no refresh token, even when asking for offline_access.
        let noRefresh = try world.createApp("no-refresh", grants: [GrantType.passwordRealm.rawValue])
        let plain = try world.login("kim@example.com", "kim-password-1", client: (noRefresh.id, noRefresh.secret))
        #expect(plain.status == 200 && plain["refresh_token"] == nil && plain["scope"] == "openid profile email")
    }

    @Test("idle lifetime: an unused refresh token expires")
    func idleExpiry() throws {
        let world = try TokenWorld()
        try world.setTenant(["--refresh-idle", "1"])
        try world.createUser("lee@example.com", "lee-password-1")
        let rt = try #require(try world.login("lee@example.com", "lee-password-1")["refresh_token"])
        Thread.sleep(forTimeInterval: 2.2)
        let late = try world.refresh(rt)
        #expect(late.status == 403 && late.error == "invalid_grant")
    }

    @Test("absolute lifetime counts from the login and is not extended by rotation")
    func absoluteExpiry() throws {
        let world = try TokenWorld()
        try world.setTenant(["--refresh-absolute", "3", "--refresh-idle", "100"])
        try world.createUser("max@example.com", "max-password-1")
        let rt1 = try #require(try world.login("max@example.com", "max-password-1")["refresh_token"])
        Thread.sleep(forTimeInterval: 1.5)
        let rt2 = try #require(try world.refresh(rt1)["refresh_token"])
        Thread.sleep(forTimeInterval: 2.0)
        let late = try world.refresh(rt2)
        #expect(late.status == 403 && late.error == "invalid_grant", "\(late.body)")
    }

    @Test("a blocked or deleted user's refresh token is refused with invalid_grant")
    func blockedOrDeletedUser() async throws {
        let world = try TokenWorld()
        let blocked = try world.createUser("ned@example.com", "ned-password-1")
        let deleted = try world.createUser("oz@example.com", "oz-password-1")
        let rtBlocked = try #require(try world.login("ned@example.com", "ned-password-1")["refresh_token"])
        let rtDeleted = try #require(try world.login("oz@example.com", "oz-password-1")["refresh_token"])
        try await world.editUser(blocked) { $0["blocked"] = true }
        try await world.deleteUser(deleted)
        #expect(try world.refresh(rtBlocked).error == "invalid_grant")
        #expect(try world.refresh(rtDeleted).error == "invalid_grant")
        try await world.editUser(blocked) { $0["blocked"] = false }
        #expect(try world.refresh(rtBlocked).status == 200, "the refused attempt did not rotate the token")
    }

    // MARK: - Brute-force protection

    @Test("3 failures block the username with 429 even with the right password; other usernames are unaffected")
    func lockout() throws {
        let world = try TokenWorld()
        try world.createUser("pat@example.com", "pat-password-1")
        try world.createUser("quinn@example.com", "quinn-password-1")
        for _ in 0..<3 { #expect(try world.login("pat@example.com", "wrong").status == 403) }
        let locked = try world.login("PAT@example.com ", "pat-password-1")
        #expect(locked.status == 429 && locked.error == "too_many_attempts")
        #expect(locked.description == "Your account has been blocked after multiple consecutive login attempts.")
        #expect(locked.headers["cache-control"] == "no-store")
        #expect(try world.login("quinn@example.com", "quinn-password-1").status == 200)
        #expect(try world.logTypes().contains("limit_wc"))
    }

    @Test("the lockout is per user: failures by email block the username too, and the other way round")
    func lockoutPerUser() throws {
        let world = try TokenWorld()
        try world.cli(["users", "create", "--email", "uma@example.com", "--username", "uma", "--password", "uma-password-1"])
        try world.cli(["users", "create", "--email", "vic@example.com", "--username", "vic", "--password", "vic-password-1"])
        for _ in 0..<3 { #expect(try world.login("uma@example.com", "wrong").status == 403) }
        #expect(try world.login("uma", "uma-password-1").status == 429, "the username of a user locked by email")
        for login in ["vic", "VIC@example.com", "vic"] { #expect(try world.login(login, "wrong").status == 403) }
        #expect(try world.login("vic@example.com", "vic-password-1").status == 429, "failures by either name add up")
    }

    @Test("parallel guesses: at most the limit reach the password check, the rest are refused with 429")
    func lockoutUnderParallelGuesses() throws {
        // A process per request (cgi), so the guesses really run at once. The world is only read by the
        // parallel logins (each makes its own HTTP request).
        nonisolated(unsafe) let world = try TokenWorld(mode: "cgi")
        try world.cli(["users", "create", "--email", "wes@example.com", "--password", "wes-password-1"])
        try world.cli(["users", "create", "--email", "xan@example.com", "--password", "xan-password-1"])
        func parallel(_ login: @escaping @Sendable () throws -> Int) -> [Int] {
            let statuses = Mutex<[Int]>([])
            DispatchQueue.concurrentPerform(iterations: 10) { _ in
                let status = (try? login()) ?? -1
                statuses.withLock { $0.append(status) }
            }
            return statuses.withLock { $0 }
        }
        let guesses = parallel { try world.login("wes@example.com", "wrong-guess").status }
        #expect(guesses.filter { $0 == 403 }.count == 3, "\(guesses)")
        #expect(guesses.filter { $0 == 429 }.count == 7, "\(guesses)")
        // The right password ten times at once: all of them get in (the places free up as each succeeds).
        let rightOnes = parallel { try world.login("xan@example.com", "xan-password-1").status }
        #expect(rightOnes == Array(repeating: 200, count: 10), "\(rightOnes)")
    }

    @Test("unknown usernames lock too (counted before any user exists)")
    func lockoutUnknownUser() throws {
        let world = try TokenWorld()
        for _ in 0..<3 { #expect(try world.login("later@example.com", "guess").status == 403) }
        try world.createUser("later@example.com", "later-password-1")
        #expect(try world.login("later@example.com", "later-password-1").status == 429)
    }

    @Test("a success resets the count; the block expires")
    func lockoutResetAndExpiry() throws {
        let world = try TokenWorld()
        try world.setTenant(["--brute-force-block", "2"])
        try world.createUser("rae@example.com", "rae-password-1")
        for _ in 0..<2 { #expect(try world.login("rae@example.com", "wrong").status == 403) }
        #expect(try world.login("rae@example.com", "rae-password-1").status == 200)
        for _ in 0..<2 { #expect(try world.login("rae@example.com", "wrong").status == 403) }
        #expect(try world.login("rae@example.com", "rae-password-1").status == 200, "the count restarted after the success")

        for _ in 0..<3 { _ = try world.login("rae@example.com", "wrong") }
        #expect(try world.login("rae@example.com", "rae-password-1").status == 429)
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try world.login("rae@example.com", "rae-password-1").status == 200, "the block expired")
    }

    // MARK: - Logs

    @Test("every outcome is logged with client, user, connection and IP, and no log holds a password, secret or token")
    func logEntries() throws {
        let world = try TokenWorld()
        let userId = try world.createUser("sam@example.com", "sam-secret-password")
        let forwarded = [("auth0-forwarded-for", "203.0.113.7")]
        let ok = try world.login("sam@example.com", "sam-secret-password", headers: forwarded)
        _ = try world.login("sam@example.com", "sam-wrong-password")
        _ = try world.login("nobody@example.com", "nobody-password")
        let rt = try #require(ok["refresh_token"])
        let refreshed = try world.refresh(rt)
        _ = try world.refresh("v1.not-a-token")
        _ = try world.post([
            "grant_type": "client_credentials", "client_id": .string(world.m2m.id), "client_secret": .string(world.m2m.secret),
            "audience": .string(world.management),
        ])
        _ = try world.post([
            "grant_type": "client_credentials", "client_id": .string(world.m2m.id), "client_secret": "nope",
            "audience": .string(world.management),
        ])
        let native = try world.createApp("native", grants: [GrantType.passwordRealm.rawValue], public: true)
        _ = try world.login("sam@example.com", "sam-secret-password", client: (native.id, nil), headers: forwarded)

        let (entries, raw) = try world.logs()
        let types = entries.map(\.type.rawValue)
        for expected in ["s", "fp", "fu", "sertft", "fertft", "seccft", "feccft"] {
            #expect(types.contains(expected), "missing \(expected) in \(types)")
        }
        let success = try #require(entries.first { $0.type.rawValue == "s" })
        #expect(success.clientId == world.app.id && success.userId == userId && success.connection == Connection.defaultName)
        #expect(success.userName == "sam@example.com")
        #expect(success.ip == "203.0.113.7", "a confidential, authenticated client may relay the end user's IP")
        let publicLogin = try #require(entries.last { $0.type.rawValue == "s" })
        #expect(publicLogin.clientId == native.id && publicLogin.ip == "127.0.0.1", "a public client's auth0-forwarded-for is ignored")
        #expect(entries.first { $0.type.rawValue == "fu" }?.userName == "nobody@example.com")
        #expect(entries.allSatisfy { !$0.description.isEmpty && $0.ip != nil })

        for secret in [
            "sam-secret-password", "sam-wrong-password", "nobody-password", world.app.secret, world.m2m.secret, rt,
            refreshed["refresh_token"] ?? "-", refreshed["access_token"] ?? "-", ok["id_token"] ?? "-", "v1.not-a-token",
        ] {
            #expect(!raw.contains(secret), "a log entry holds a credential")
            #expect(!world.gateway.logs.contains(secret), "the gateway's log lines hold a credential")
        }
    }
}
