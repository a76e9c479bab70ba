import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

@Suite("Contract pieces")
struct ContractTests {
    static let table = try! JSONDecoder().decode(
        RouteTable.self,
        from: Data(
            """
            {"functions": {"users": {"timeoutSeconds": 5, "memoryMB": 128}},
             "routes": [{"method": "GET", "path": "/api/v2/users/{id}", "function": "users"},
                        {"method": "DELETE", "path": "/api/v2/users/{id}/identities/{provider}/{user_id}", "function": "users"}]}
            """.utf8))

    @Test("route parameters are matched per segment and percent-decoded")
    func routeParameters() {
        guard case .matched(let m) = Self.table.match(method: "GET", path: "/api/v2/users/auth0%7Cabc") else {
            Issue.record("no match")
            return
        }
        #expect(m.parameters["id"] == "auth0|abc" && m.route.routeKey == "GET /api/v2/users/{id}")
        guard case .matched(let d) = Self.table.match(method: "DELETE", path: "/api/v2/users/a/identities/google-oauth2/123%2F4") else {
            Issue.record("no match")
            return
        }
        #expect(d.parameters == ["id": "a", "provider": "google-oauth2", "user_id": "123/4"])
    }

    @Test("wrong method, unknown path, empty segment and broken escapes are told apart")
    func routeOutcomes() {
        if case .methodNotAllowed(let allowed) = Self.table.match(method: "POST", path: "/api/v2/users/x") {
            #expect(allowed == ["GET"])
        } else {
            Issue.record("expected 405")
        }
        if case .notFound = Self.table.match(method: "GET", path: "/api/v2/users/x/extra") {} else { Issue.record("expected 404") }
        if case .notFound = Self.table.match(method: "GET", path: "/api/v2/users/") {} else { Issue.record("empty id must not match") }
        if case .badPath = Self.table.match(method: "GET", path: "/api/v2/users/%zz") {} else { Issue.record("expected bad path") }
    }

    @Test("Allow names the most specific path's methods: a literal sibling of {id} does not advertise GET")
    func allowPrefersLiteralPaths() throws {
        let table = try JSONDecoder().decode(
            RouteTable.self,
            from: Data(
                """
                {"functions": {"jobs": {"timeoutSeconds": 5, "memoryMB": 128}},
                 "routes": [{"method": "GET", "path": "/api/v2/jobs/{id}", "function": "jobs"},
                            {"method": "POST", "path": "/api/v2/jobs/users-imports", "function": "jobs"}]}
                """.utf8))
        if case .methodNotAllowed(let allowed) = table.match(method: "OPTIONS", path: "/api/v2/jobs/users-imports") {
            #expect(allowed == ["POST"])
        } else {
            Issue.record("expected 405")
        }
        if case .matched(let m) = table.match(method: "GET", path: "/api/v2/jobs/users-imports") {
            #expect(m.parameters["id"] == "users-imports", "GET still reaches {id}, as API Gateway routes it")
        } else {
            Issue.record("expected GET /jobs/{id}")
        }
    }

    static func request(body: String?, contentType: String?, base64: Bool = false, limit: Int = 1024) -> FunctionRequest {
        var headers = ["host": "h"]
        headers["content-type"] = contentType
        let event = GatewayEvent(
            routeKey: "POST /oauth/token", rawPath: "/oauth/token", rawQueryString: "", headers: headers,
            queryStringParameters: nil, pathParameters: nil,
            requestContext: .init(
                domainName: "h", requestId: "r", http: .init(method: "POST", path: "/oauth/token", sourceIp: "1.2.3.4", userAgent: nil)),
            body: body, isBase64Encoded: base64
        )
        return FunctionRequest(event: event, maxBodyBytes: limit)
    }

    @Test("bodies are read as JSON objects or form data; JSON null stays null")
    func parameters() throws {
        let json = try Self.request(body: #"{"grant_type":"password","realm":null,"n":1}"#, contentType: "application/json").parameters()
        #expect(json["grant_type"] == "password" && json["realm"] == .null && json["n"] == 1)
        let form = try Self.request(
            body: "grant_type=password&username=a%40b.c&scope=openid+profile", contentType: "application/x-www-form-urlencoded"
        ).parameters()
        #expect(form["username"] == "a@b.c" && form["scope"] == "openid profile")
        let b64 = try Self.request(body: Data(#"{"a":"b"}"#.utf8).base64EncodedString(), contentType: "application/json", base64: true)
            .parameters()
        #expect(b64["a"] == "b")
    }

    @Test(
        "bad bodies get 400, unknown types 415, big ones 413",
        arguments: [
            (#"{"a":"#, "application/json", 400), ("[1]", "application/json", 400), ("a=%zz", "application/x-www-form-urlencoded", 400),
            ("<xml/>", "text/xml", 415), (String(repeating: "a", count: 2000), "application/json", 413),
        ])
    func badBodies(body: String, type: String, status: Int) {
        #expect(throws: HTTPError.self) { try Self.request(body: body, contentType: type).parameters() }
        do { _ = try Self.request(body: body, contentType: type).parameters() } catch { #expect(error.status == status) }
    }

    @Test("JSON values keep their type: strings stay strings, numbers never become strings or booleans")
    func jsonValueTypes() throws {
        let text = #"{"s":"1","t":"true","b":true,"i":3,"d":1.5,"n":null,"a":[1,"y",[]],"o":{"k":false,"e":{}}}"#
        let value = try JSON.decode(JSONValue.self, from: Data(text.utf8))
        #expect(
            value
                == .object([
                    "s": .string("1"), "t": .string("true"), "b": .bool(true), "i": .int(3), "d": .double(1.5), "n": .null,
                    "a": .array([.int(1), .string("y"), .array([])]), "o": .object(["k": .bool(false), "e": .object([:])]),
                ]))
    }

    @Test("the hand-written JSON writer reads back as what JSONEncoder would have written, for every kind of value and text")
    func compactJSONReadsBack() throws {
        let awkward = "quote \" backslash \\ slash / nl \n cr \r tab \t bell \u{7} nul \u{0} us \u{1F} é 😀 \u{2028} <script>"
        let value: JSONValue = [
            "s": .string(awkward), "i": .int(-9_007_199_254_740_993), "d": .double(0.1), "b": true, "n": .null,
            "a": [1, "x", [], [:]], "o": ["z": 1, "a": ["é": "ü", "e": 2], "": "empty key", awkward: .string(awkward)],
        ]
        let written = try value.compactJSON()
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(written)) == value)
        // Keys sorted by their UTF-8 bytes, no spaces, like the encoder's sortedKeys output for these keys.
        #expect(
            String(decoding: try JSONValue.object(["b": 1, "a": 2, "é": 3, "B": 4]).compactJSON(), as: UTF8.self)
                == #"{"B":4,"a":2,"b":1,"é":3}"#)
        #expect(throws: (any Error).self) { try JSONValue.double(.infinity).compactJSON() }

        // The runtime contract's response, cookies included, decodes back to itself.
        let response = GatewayResponse(
            statusCode: 302, headers: ["location": "https://a.test/cb?x=1&y=" + awkward, "cache-control": "no-store"], body: awkward,
            cookies: ["a=1; Path=/; HttpOnly", "b=2"])
        #expect(try JSONDecoder().decode(GatewayResponse.self, from: Data(response.contractJSON())) == response)
        let plain = GatewayResponse(statusCode: 200, body: "{}")
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(plain.contractJSON()))
        #expect(decoded == ["statusCode": 200, "headers": [:], "body": "{}", "isBase64Encoded": false], "no cookies member when none")
    }

    @Test("error shapes: Authentication API and Management API")
    func errorShapes() throws {
        let oauth = ErrorShape.oauth.response(for: HTTPError(403, "invalid_grant", "Wrong email or password."))
        let a = try JSONDecoder().decode(JSONValue.self, from: Data(oauth.body.utf8))
        #expect(oauth.statusCode == 403 && a == ["error": "invalid_grant", "error_description": "Wrong email or password."])
        #expect(oauth.headers["cache-control"] == "no-store")
        let mgmt = ErrorShape.management.response(
            for: HTTPError(403, "insufficient_scope", "Insufficient scope, expected any of: read:users"))
        let m = try JSONDecoder().decode(JSONValue.self, from: Data(mgmt.body.utf8))
        #expect(
            m == [
                "statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: read:users",
                "errorCode": "insufficient_scope",
            ])
    }

    @Test("log lines carry the time as ISO 8601 in UTC with milliseconds, within a second of now")
    func logTimestamps() throws {
        let stamp = JSONLogHandler.utcTimestamp()
        #expect(stamp.count == 24 && stamp.hasSuffix("Z"), "\(stamp)")
        let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(stamp)
        #expect(abs(parsed.timeIntervalSinceNow) < 1)
    }

    @Test("the log handler redacts credential-named metadata")
    func logRedaction() {
        for key in ["password", "client_secret", "refresh_token", "Authorization", "id_token_hint", "password_hash"] {
            #expect(JSONLogHandler.isSensitive(key), "\(key)")
        }
        for key in ["route", "status", "request_id", "client_id", "connection"] {
            #expect(!JSONLogHandler.isSensitive(key), "\(key)")
        }
    }
}

@Suite("SecretBox")
struct SecretBoxTests {
    @Test("seals and opens; the sealed form hides the secret")
    func roundTrip() throws {
        let box = try SecretBox(key: Random.bytes(32))
        let sealed = try box.seal("upstream-client-secret", context: "t/x/connections/con_1#client_secret")
        #expect(SecretBox.isSealed(sealed) && !sealed.contains("upstream-client-secret"))
        #expect(try box.open(sealed, context: "t/x/connections/con_1#client_secret") == "upstream-client-secret")
        #expect(try box.seal("same", context: "c") != box.seal("same", context: "c"), "a fresh nonce every time")
    }

    @Test("a wrong key, another record's context or a flipped bit does not open")
    func tamperingFails() throws {
        let box = try SecretBox(key: Random.bytes(32))
        let sealed = try box.seal("s3cret", context: "a")
        #expect(throws: SecretBox.Failure.self) { try SecretBox(key: Random.bytes(32)).open(sealed, context: "a") }
        #expect(throws: SecretBox.Failure.self) { try box.open(sealed, context: "b") }
        var raw = Base64URL.decode(String(sealed.dropFirst(4)))!
        raw[14] ^= 1
        #expect(throws: SecretBox.Failure.self) { try box.open("gw1." + Base64URL.encode(raw), context: "a") }
        #expect(throws: SecretBox.Failure.self) { try SecretBox(key: Random.bytes(16)) }
    }
}
