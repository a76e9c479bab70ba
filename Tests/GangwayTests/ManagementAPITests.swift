import Foundation
import GangwayAuth0
import Testing

/// The Management API functions (users, connections, logs) behind the real gateway.
@Suite("ManagementAPI", .serialized)
struct ManagementAPITests {
    struct Route: CustomStringConvertible {
        var method: String
        var path: String
        var scope: String
        var success: Int
        var body: JSONValue?
        var description: String { "\(method) \(path)" }
    }

    @Test("front door: no token, ID token, expired, foreign tenant, wrong scope, right scope — on every route")
    func frontDoor() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let victim = try env.createUser(["email": "front@example.com"], token: admin)
        let id = pathEscaped(victim["user_id"]?.stringValue ?? "")
        let connection = env.tenant.connection.id
        let foreignIssuer = "http://tenant-b.test:\(env.gateway.port)/"
        _ = try initTenant(store: env.scratch.store, issuer: foreignIssuer)

        let routes = [
            Route(method: "GET", path: "/api/v2/users", scope: "read:users", success: 200),
            Route(method: "GET", path: "/api/v2/users/\(id)", scope: "read:users", success: 200),
            Route(
                method: "POST", path: "/api/v2/users", scope: "create:users", success: 201,
                body: ["connection": .string(Connection.defaultName), "email": "new@example.com", "password": "Corr3ct-Horse!"]),
            Route(method: "PATCH", path: "/api/v2/users/\(id)", scope: "update:users", success: 200, body: ["nickname": "patched"]),
            Route(method: "GET", path: "/api/v2/connections", scope: "read:connections", success: 200),
            Route(method: "GET", path: "/api/v2/connections/\(connection)", scope: "read:connections", success: 200),
            Route(
                method: "PATCH", path: "/api/v2/connections/\(connection)", scope: "update:connections", success: 200,
                body: ["options": ["brute_force_protection": true]]),
            Route(method: "GET", path: "/api/v2/logs", scope: "read:logs", success: 200),
            Route(method: "DELETE", path: "/api/v2/users/\(id)", scope: "delete:users", success: 204),
        ]
        let now = Int64(Date().timeIntervalSince1970)
        for route in routes {
            let missing = try env.call(route.method, route.path, token: nil, body: route.body)
            #expect(missing.status == 401 && missing.object["message"] == "Missing authentication", "\(route): \(missing.raw)")
            #expect(missing.object["statusCode"] == 401 && missing.object["error"] == "Unauthorized", "\(route)")

            let idToken = try env.managementToken(route.scope, type: "JWT")
            let withIDToken = try env.call(route.method, route.path, token: idToken, body: route.body)
            #expect(
                withIDToken.status == 401 && withIDToken.object["errorCode"] == "invalid_token", "\(route): ID token \(withIDToken.raw)")

            let expired = try env.managementToken(route.scope, extra: ["iat": .int(now - 7200), "exp": .int(now - 3600)])
            let withExpired = try env.call(route.method, route.path, token: expired, body: route.body)
            #expect(withExpired.status == 401 && withExpired.object["errorCode"] == "invalid_token", "\(route): expired \(withExpired.raw)")

            let foreign = try env.sign(
                ["sub": "x@clients", "aud": .string(env.managementAudience), "scope": .string(route.scope), "gty": "client-credentials"],
                tenant: foreignIssuer
            )
            let withForeign = try env.call(route.method, route.path, token: foreign, body: route.body)
            #expect(withForeign.status == 401, "\(route): another tenant's token \(withForeign.raw)")

            let wrongScope = try env.managementToken(route.scope.hasPrefix("read:logs") ? "read:users" : "read:logs")
            let withWrongScope = try env.call(route.method, route.path, token: wrongScope, body: route.body)
            #expect(withWrongScope.status == 403, "\(route): \(withWrongScope.raw)")
            #expect(withWrongScope.object["errorCode"] == "insufficient_scope")
            #expect(withWrongScope.object["message"]?.stringValue == "Insufficient scope, expected any of: \(route.scope)")

            let right = try env.managementToken(route.scope)
            let ok = try env.call(route.method, route.path, token: right, body: route.body)
            #expect(ok.status == route.success, "\(route): \(ok.raw)")
        }
        let search = try env.call("GET", "/api/v2/users?q=email%3A%22a%40b.c%22", token: admin)
        #expect(
            search.status == 400 && search.object["errorCode"] == "invalid_query_string", "an unsupported search is refused, not ignored")
    }

    @Test("users: create, get by percent-encoded id, patch with metadata merge, delete")
    func usersCRUD() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let created = try env.createUser(
            [
                "email": "Ada@Example.com", "user_id": "abc", "username": "ada", "given_name": "Ada", "family_name": "Lovelace",
                "name": "Ada Lovelace", "picture": "https://example.com/ada.png", "email_verified": true,
                "user_metadata": ["theme": "dark", "lang": "en"], "app_metadata": ["plan": "pro"],
            ],
            token: admin
        )
        #expect(created["user_id"] == "auth0|abc")
        #expect(created["email"] == "Ada@Example.com" && created["email_verified"] == true && created["username"] == "ada")
        #expect(created["given_name"] == "Ada" && created["family_name"] == "Lovelace" && created["name"] == "Ada Lovelace")
        #expect(created["logins_count"] == 0 && created["blocked"] == nil && created["password"] == nil)
        #expect(isAuth0Timestamp(created["created_at"]) && isAuth0Timestamp(created["updated_at"]))
        let identity = created["identities"]?.arrayValue?.first
        #expect(identity?["connection"]?.stringValue == Connection.defaultName)
        #expect(identity?["user_id"] == "abc" && identity?["provider"] == "auth0" && identity?["isSocial"] == false)

        let got = try env.call("GET", "/api/v2/users/auth0%7Cabc", token: admin)
        #expect(got.status == 200 && got.object == created)

        let patched = try env.call(
            "PATCH", "/api/v2/users/auth0%7Cabc", token: admin,
            body: ["user_metadata": ["theme": "light", "lang": nil, "tz": "UTC"], "app_metadata": [:], "blocked": true, "nickname": nil]
        )
        #expect(patched.status == 200, "\(patched.raw)")
        #expect(patched.object["user_metadata"] == ["theme": "light", "tz": "UTC"])
        #expect(patched.object["app_metadata"] == ["plan": "pro"])
        #expect(patched.object["blocked"] == true && patched.object["nickname"] == nil && patched.object["given_name"] == "Ada")

        // A new email frees the old one, is unverified, and the old address can be registered again.
        let moved = try env.call("PATCH", "/api/v2/users/auth0%7Cabc", token: admin, body: ["email": "ada@new.example"])
        #expect(moved.status == 200 && moved.object["email"] == "ada@new.example" && moved.object["email_verified"] == false)
        try env.createUser(["email": "ada@example.com"], token: admin)
        let taken = try env.call(
            "POST", "/api/v2/users", token: admin,
            body: [
                "connection": .string(Connection.defaultName), "email": "ADA@new.example", "password": "Corr3ct-Horse!",
            ])
        #expect(taken.status == 409)

        let deleted = try env.call("DELETE", "/api/v2/users/auth0%7Cabc", token: admin)
        #expect(deleted.status == 204 && deleted.raw.isEmpty)
        for method in ["GET", "PATCH", "DELETE"] {
            let gone = try env.call(method, "/api/v2/users/auth0%7Cabc", token: admin, body: method == "PATCH" ? ["name": "x"] : nil)
            #expect(gone.status == 404, "\(method)")
            #expect(gone.object["errorCode"] == "inexistent_user" && gone.object["message"] == "The user does not exist.")
        }
        // Its email and username are free again.
        try env.createUser(["email": "ada@new.example", "username": "ada"], token: admin)
    }

    @Test("users: validation errors are 400 invalid_body naming the field, and write nothing")
    func userValidation() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let base: [String: JSONValue] = [
            "connection": .string(Connection.defaultName), "email": "v@example.com", "password": "Corr3ct-Horse!",
        ]
        let cases: [(String, [String: JSONValue], String)] = [
            ("missing connection", ["connection": nil], "connection"),
            ("missing email", ["email": nil], "email"),
            ("missing password", ["password": nil], "password"),
            ("bad email", ["email": "not-an-email"], "email"),
            ("email not a string", ["email": 42], "email"),
            ("unknown property", ["favourite_colour": "blue"], "favourite_colour"),
            ("blocked not a boolean", ["blocked": "yes"], "blocked"),
            ("metadata not an object", ["user_metadata": "x"], "user_metadata"),
            ("provider-prefixed custom id", ["user_id": "auth0|abc"], "user_id"),
            ("password over bcrypt's 72 bytes", ["password": .string(String(repeating: "a", count: 73))], "password"),
            ("username with a space", ["username": "a b"], "username"),
        ]
        for (name, change, field) in cases {
            var body = base
            for (k, v) in change { if v.isNull { body[k] = nil } else { body[k] = v } }
            let answer = try env.call("POST", "/api/v2/users", token: admin, body: .object(body))
            #expect(answer.status == 400, "\(name): \(answer.raw)")
            #expect(answer.object["errorCode"] == "invalid_body", "\(name)")
            let message = answer.object["message"]?.stringValue ?? ""
            #expect(message.hasPrefix("Payload validation error:") && message.contains(field), "\(name): \(message)")
        }
        let unknownConnection = try env.call(
            "POST", "/api/v2/users", token: admin, body: .object(base.merging(["connection": "nope"]) { $1 }))
        #expect(unknownConnection.status == 400 && unknownConnection.object["errorCode"] == "inexistent_connection")
        let notJSON = try env.gateway.request(
            "POST", "/api/v2/users", headers: [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")],
            body: Array("[1,2]".utf8))
        #expect(notJSON.status == 400)

        let listed = try env.call("GET", "/api/v2/users?include_totals=true", token: admin)
        #expect(listed.object["total"] == 0, "nothing was written: \(listed.raw)")

        let user = try env.createUser(["email": "w@example.com"], token: admin)
        let path = "/api/v2/users/" + pathEscaped(user["user_id"]?.stringValue ?? "")
        for (body, field) in [
            (["phone_number": "+15550100"], "phone_number"), (["email_verified": "true"], "email_verified"),
            (["user_metadata": [1, 2]], "user_metadata"), (["email": "nope"], "email"),
        ] as [(JSONValue, String)] {
            let answer = try env.call("PATCH", path, token: admin, body: body)
            #expect(answer.status == 400 && answer.object["errorCode"] == "invalid_body", "\(answer.raw)")
            #expect(answer.object["message"]?.stringValue?.contains(field) == true, "\(answer.raw)")
        }
        #expect(try env.call("GET", path, token: admin).object == user, "failed patches changed nothing")
    }

    @Test("users: duplicate email, username or id on the connection is 409 'The user already exists.'")
    func duplicates() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        try env.createUser(["email": "dup@example.com", "username": "dupe", "user_id": "dup1"], token: admin)
        let other = try env.createUser(["email": "other@example.com"], token: admin)
        for (name, fields) in [
            ("same email, other case", ["email": "DUP@Example.COM"]), ("same username", ["email": "x@example.com", "username": "DUPE"]),
            ("same custom id", ["email": "y@example.com", "user_id": "dup1"]),
        ] as [(String, [String: JSONValue])] {
            var body: [String: JSONValue] = ["connection": .string(Connection.defaultName), "password": "Corr3ct-Horse!"]
            body.merge(fields) { $1 }
            let answer = try env.call("POST", "/api/v2/users", token: admin, body: .object(body))
            #expect(answer.status == 409, "\(name): \(answer.raw)")
            #expect(answer.object["errorCode"] == "auth0_idp_error" && answer.object["message"] == "The user already exists.", "\(name)")
        }
        let path = "/api/v2/users/" + pathEscaped(other["user_id"]?.stringValue ?? "")
        #expect(try env.call("PATCH", path, token: admin, body: ["email": "dup@example.com"]).status == 409)
        #expect(try env.call("PATCH", path, token: admin, body: ["username": "dupe"]).status == 409)
        #expect(try env.call("GET", path, token: admin).object["email"] == "other@example.com")
        let total = try env.call("GET", "/api/v2/users?include_totals=true", token: admin).object["total"]
        #expect(total == 2)
    }

    @Test("users: paging with page/per_page, include_totals, and limits")
    func paging() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        for i in 0..<5 { try env.createUser(["email": .string("p\(i)@example.com")], token: admin) }
        var seen: [String] = []
        for (page, expected) in [(0, 2), (1, 2), (2, 1), (3, 0)] {
            let answer = try env.call("GET", "/api/v2/users?page=\(page)&per_page=2", token: admin)
            #expect(answer.status == 200 && answer.array.count == expected, "page \(page): \(answer.raw)")
            seen += answer.array.compactMap { $0["user_id"]?.stringValue }
        }
        #expect(Set(seen).count == 5)
        let totals = try env.call("GET", "/api/v2/users?page=1&per_page=2&include_totals=true", token: admin).object
        #expect(totals["start"] == 2 && totals["limit"] == 2 && totals["length"] == 2 && totals["total"] == 5)
        #expect(totals["users"]?.arrayValue?.count == 2)
        for query in ["per_page=101", "per_page=0", "page=-1", "per_page=ten", "include_totals=maybe"] {
            let answer = try env.call("GET", "/api/v2/users?\(query)", token: admin)
            #expect(answer.status == 400 && answer.object["errorCode"] == "invalid_query_string", "\(query): \(answer.raw)")
        }
        #expect(try env.call("GET", "/api/v2/users?per_page=100", token: admin).array.count == 5)
    }

    @Test("passwords are never returned or logged; a changed password is rehashed")
    func passwordsStaySecret() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let first = "First-Pa55word-\(UUID().uuidString.prefix(8))"
        let second = "Second-Pa55word-\(UUID().uuidString.prefix(8))"
        var bodies: [String] = []
        let created = try env.call(
            "POST", "/api/v2/users", token: admin,
            body: [
                "connection": .string(Connection.defaultName), "email": "secret@example.com", "password": .string(first),
            ])
        bodies.append(created.raw)
        let path = "/api/v2/users/" + pathEscaped(created.object["user_id"]?.stringValue ?? "")
        bodies.append(try env.call("PATCH", path, token: admin, body: ["password": .string(second)]).raw)
        bodies.append(try env.call("PATCH", path, token: admin, body: ["password": 12]).raw)
        bodies.append(try env.call("GET", path, token: admin).raw)
        bodies.append(try env.call("GET", "/api/v2/users", token: admin).raw)
        let logs = try env.call("GET", "/api/v2/logs", token: admin)
        bodies.append(logs.raw)
        #expect(logs.array.count == 3)
        for body in bodies + [env.gateway.logs] {
            #expect(!body.contains(first) && !body.contains(second))
            #expect(!body.contains("$2b$") && !body.contains("password_hash") && !body.contains("passwordHash"))
        }
        // The store holds a bcrypt hash of the new password, not the old one.
        let dump = try gangway([
            "store", "get", "--store", env.scratch.store, StoreKeys.user(env.tenant.tenant, created.object["user_id"]?.stringValue ?? ""),
        ])
        #expect(dump.status == 0, "\(dump.stderr)")
        let hash = (try? JSONDecoder().decode(User.self, from: dump.stdout))?.passwordHash ?? ""
        #expect(hash.hasPrefix("$2b$10$"))
        #expect(PasswordHash.verify(second, against: hash) && !PasswordHash.verify(first, against: hash))
    }

    @Test("connections: list with filters and paging, get, patch merges options and never returns secrets")
    func connections() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let id = env.tenant.connection.id
        let list = try env.call("GET", "/api/v2/connections", token: admin)
        #expect(list.status == 200 && list.array.count == 1)
        let connection = list.array.first?.objectValue ?? [:]
        #expect(connection["id"]?.stringValue == id && connection["name"]?.stringValue == Connection.defaultName)
        #expect(connection["strategy"] == "auth0" && connection["is_domain_connection"] == false)
        #expect(connection["realms"] == [.string(Connection.defaultName)])
        #expect(connection["enabled_clients"]?.arrayValue?.contains(.string(env.m2mClient)) == true)

        #expect(try env.call("GET", "/api/v2/connections?strategy=auth0", token: admin).array.count == 1)
        #expect(try env.call("GET", "/api/v2/connections?strategy=google-oauth2", token: admin).array.isEmpty)
        #expect(try env.call("GET", "/api/v2/connections?name=Username-Password-Authentication", token: admin).array.count == 1)
        #expect(try env.call("GET", "/api/v2/connections?name=other", token: admin).array.isEmpty)
        let totals = try env.call("GET", "/api/v2/connections?include_totals=true", token: admin).object
        #expect(totals["total"] == 1 && totals["connections"]?.arrayValue?.count == 1)
        let checkpoint = try env.call("GET", "/api/v2/connections?include_totals=true&take=50", token: admin).object
        #expect(checkpoint["connections"]?.arrayValue?.count == 1 && checkpoint["next"] == nil)

        let got = try env.call("GET", "/api/v2/connections/\(id)", token: admin)
        #expect(got.status == 200 && got.object["id"]?.stringValue == id)
        let missing = try env.call("GET", "/api/v2/connections/con_nope", token: admin)
        #expect(missing.status == 404 && missing.object["errorCode"] == "inexistent_connection")
        #expect(try env.call("PATCH", "/api/v2/connections/con_nope", token: admin, body: ["options": [:]]).status == 404)

        let secret = "s3cr3t-\(UUID().uuidString)"
        let patched = try env.call(
            "PATCH", "/api/v2/connections/\(id)", token: admin,
            body: [
                "options": [
                    "brute_force_protection": true, "client_secret": .string(secret),
                    "configuration": [
                        "url": "https://legacy.example/", "client_secret": .string(secret), "nested": [["password": .string(secret)]],
                    ],
                ]
            ])
        #expect(patched.status == 200, "\(patched.raw)")
        let options = patched.object["options"]?.objectValue ?? [:]
        #expect(options["brute_force_protection"] == true && options["import_mode"] == false)
        #expect(options["configuration"]?["url"] == "https://legacy.example/")
        let reread = try env.call("GET", "/api/v2/connections/\(id)", token: admin)
        let listedAgain = try env.call("GET", "/api/v2/connections", token: admin)
        for body in [patched.raw, reread.raw, listedAgain.raw, try env.call("GET", "/api/v2/logs", token: admin).raw] {
            #expect(!body.contains(secret) && !body.contains("client_secret"))
        }
        // Echoing the (secret-free) options back keeps the stored secret; null deletes a key.
        let echoed = try env.call(
            "PATCH", "/api/v2/connections/\(id)", token: admin, body: ["options": .object(options.merging(["import_mode": nil]) { $1 })])
        #expect(
            echoed.status == 200 && echoed.object["options"]?["import_mode"] == nil
                && echoed.object["options"]?["brute_force_protection"] == true)
        let stored = try gangway(["store", "get", "--store", env.scratch.store, StoreKeys.connection(env.tenant.tenant, id)])
        #expect(stored.status == 0 && stored.text.contains(secret), "the secret is kept, only hidden")

        for body in [["name": "renamed"], ["options": "x"], ["strategy": "google-oauth2"]] as [JSONValue] {
            let bad = try env.call("PATCH", "/api/v2/connections/\(id)", token: admin, body: body)
            #expect(bad.status == 400 && bad.object["errorCode"] == "invalid_body", "\(bad.raw)")
        }
    }

    @Test("logs: Auth0 log events for every write, newest first, paged")
    func logs() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let user = try env.createUser(["email": "log@example.com"], token: admin)
        let userId = user["user_id"]?.stringValue ?? ""
        _ = try env.call(
            "POST", "/api/v2/users", token: admin,
            body: ["connection": .string(Connection.defaultName), "email": "log@example.com", "password": "Corr3ct-Horse!"])
        _ = try env.call("PATCH", "/api/v2/users/" + pathEscaped(userId), token: admin, body: ["blocked": true])
        _ = try env.call("DELETE", "/api/v2/users/" + pathEscaped(userId), token: admin)
        _ = try env.call("DELETE", "/api/v2/users/" + pathEscaped(userId), token: admin)

        let answer = try env.call("GET", "/api/v2/logs", token: admin)
        #expect(answer.status == 200)
        let events = answer.array.compactMap(\.objectValue)
        #expect(events.map { $0["type"]?.stringValue ?? "" } == ["fapi", "sapi", "sapi", "fapi", "sapi"])
        #expect(
            events.map { $0["description"]?.stringValue ?? "" } == [
                "Delete a User", "Delete a User", "Update a User", "Create a User", "Create a User",
            ])
        let created = events.last ?? [:]
        #expect(created["user_id"]?.stringValue == userId && created["user_name"] == "log@example.com")
        #expect(created["client_id"]?.stringValue == env.m2mClient && created["connection"]?.stringValue == Connection.defaultName)
        #expect(created["ip"] != nil && created["log_id"]?.stringValue?.isEmpty == false)
        #expect(events.allSatisfy { isAuth0Timestamp($0["date"]) })
        #expect(events[0]["details"]?["response"]?["statusCode"] == 404)
        let dates = events.compactMap { $0["date"]?.stringValue }
        #expect(dates == dates.sorted(by: >), "newest first")

        let page = try env.call("GET", "/api/v2/logs?page=1&per_page=2&include_totals=true", token: admin).object
        #expect(page["total"] == 5 && page["start"] == 2 && page["limit"] == 2 && page["length"] == 2)
        #expect(page["logs"]?.arrayValue?.first?["log_id"] == events[2]["log_id"])
        #expect(try env.call("GET", "/api/v2/logs?per_page=101", token: admin).status == 400)
        #expect(try env.call("GET", "/api/v2/logs?per_page=100&page=10", token: admin).status == 400)
    }

    @Test("a real client-credentials token from /oauth/token works, and a changed password works at /oauth/token")
    func realTokens() throws {
        let scratch = Scratch()
        let host = "mgmt.test"
        let tenant = try initTenant(store: scratch.store, issuer: "http://\(host)/")
        let gateway = try GatewayProcess(store: scratch.store, mode: "warm")
        let hostHeader = ("Host", host)
        func form(_ fields: [(String, String)]) -> [UInt8] {
            Array(
                fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
                    .utf8)
        }
        let tokenResponse = try gateway.request(
            "POST", "/oauth/token", headers: [hostHeader, ("Content-Type", "application/x-www-form-urlencoded")],
            body: form([
                ("grant_type", "client_credentials"), ("client_id", tenant.management.client_id),
                ("client_secret", tenant.management.client_secret ?? ""), ("audience", "http://\(host)/api/v2/"),
            ]))
        #expect(tokenResponse.status == 200, "\(String(decoding: tokenResponse.body, as: UTF8.self))")
        let token = (try? JSONDecoder().decode(JSONValue.self, from: Data(tokenResponse.body)))?["access_token"]?.stringValue ?? ""
        let auth = ("Authorization", "Bearer \(token)")
        let create = try gateway.request(
            "POST", "/api/v2/users", headers: [hostHeader, auth, ("Content-Type", "application/json")],
            body: Array(#"{"connection":"Username-Password-Authentication","email":"real@example.com","password":"First-Pa55word"}"#.utf8))
        #expect(create.status == 201, "\(String(decoding: create.body, as: UTF8.self))")
        let userId = (try? JSONDecoder().decode(JSONValue.self, from: Data(create.body)))?["user_id"]?.stringValue ?? ""
        let patch = try gateway.request(
            "PATCH", "/api/v2/users/" + pathEscaped(userId), headers: [hostHeader, auth, ("Content-Type", "application/json")],
            body: Array(#"{"password":"Second-Pa55word"}"#.utf8))
        #expect(patch.status == 200)

        func login(_ password: String) throws -> Int {
            try gateway.request(
                "POST", "/oauth/token", headers: [hostHeader, ("Content-Type", "application/x-www-form-urlencoded")],
                body: form([
                    ("grant_type", "http://auth0.com/oauth/grant-type/password-realm"), ("client_id", tenant.app.client_id),
                    ("client_secret", tenant.app.client_secret ?? ""), ("username", "real@example.com"), ("password", password),
                    ("realm", "Username-Password-Authentication"), ("scope", "openid"),
                ])
            ).status
        }
        #expect(try login("Second-Pa55word") == 200)
        #expect(try login("First-Pa55word") == 403)
    }
}
