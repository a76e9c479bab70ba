import Foundation
import GangwayAuth0
import Testing

/// `python3 tests/fake_auth0.py` as a process: a fake upstream Auth0 tenant on a free loopback port, serving until
/// its stdin closes. Controlled over HTTP (`/_users`, `/_mode`, `/_calls`, `/_reset`).
final class FakeUpstream {
    let process = Process()
    let stdin = Pipe()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }
    static let secret = "swift-upstream-secret-" + UUID().uuidString

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Bin.packageRoot + "/tests/fake_auth0.py", "upstream-client", Self.secret]
        let out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(15)
        while !seen.contains("\n"), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = seen.split(separator: "\n").first, line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            throw GatewayError(message: "fake_auth0.py did not start: \(seen)")
        }
        self.port = port
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
    }

    @discardableResult
    func control(_ path: String, _ body: JSONValue) throws -> UpstreamResponse {
        try UpstreamClient().postJSON(url: base + path, body: try JSON.encode(body))
    }

    func calls(_ prefix: String) throws -> [[String: JSONValue]] {
        let response = try UpstreamClient().get(url: base + "/_calls")
        let all = try JSONDecoder().decode(JSONValue.self, from: Data(response.body)).arrayValue ?? []
        return all.compactMap(\.objectValue).filter { $0["path"]?.stringValue?.hasPrefix(prefix) == true }
    }

    /// A user who exists only upstream.
    func addUser(password: String = "Upstream-Pa55!") throws -> (email: String, sub: String, password: String) {
        let tag = UUID().uuidString.prefix(8).lowercased()
        let email = "swift-\(tag)@example.com"
        let sub = "auth0|sw\(tag)"
        try control("/_users", ["email": .string(email), "password": .string(password), "sub": .string(sub), "name": "Swift Upstream"])
        return (email, sub, password)
    }
}

@Suite("Password migration (lazy import from an upstream Auth0)", .serialized)
struct PasswordMigrationTests {
    let world: TokenWorld
    let fake: FakeUpstream

    init() throws {
        world = try TokenWorld()
        fake = try FakeUpstream()
        let patch: JSONValue = [
            "options": [
                "import_mode": true,
                "configuration": [
                    "token_endpoint": .string(fake.base + "/oauth/token"), "userinfo_endpoint": .string(fake.base + "/userinfo"),
                    "client_id": "upstream-client", "client_secret": .string(FakeUpstream.secret),
                ],
            ]
        ]
        let answer = try patchConnection(patch)
        #expect(answer.status == 200, "\(answer.body)")
    }

    func patchConnection(_ body: JSONValue) throws -> TokenWorld.Reply {
        let token = try world.cli([
            "jwt", "sign", "--type", "at+jwt", "--claims",
            try JSON.string(
                JSONValue.object([
                    "sub": .string(world.m2m.id + "@clients"), "aud": .string(world.management),
                    "scope": "update:connections read:connections",
                    "azp": .string(world.m2m.id), "gty": "client-credentials",
                ])),
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
        let response = try world.gateway.request(
            "PATCH", "/api/v2/connections/\(world.tenant.connection.id)",
            headers: [("Host", world.host), ("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: Array(try JSON.encode(body))
        )
        let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)))?.objectValue ?? [:]
        #expect(!String(decoding: response.body, as: UTF8.self).contains(FakeUpstream.secret), "the secret is never returned")
        return TokenWorld.Reply(status: response.status, body: value, headers: response.headers)
    }

    @Test("first login migrates, the second is local, a wrong password after migration never goes upstream")
    func firstLoginMigrates() async throws {
        let user = try fake.addUser()
        let first = try world.login(user.email, user.password, headers: [("auth0-forwarded-for", "203.0.113.5")])
        #expect(first.status == 200, "\(first.body)")
        let calls = try fake.calls("/oauth/token")
        #expect(calls.count == 1)
        let body = calls.first?["body"]?.objectValue ?? [:]
        #expect(body["grant_type"]?.stringValue == GrantType.passwordRealm.rawValue)
        #expect(body["realm"]?.stringValue == Connection.defaultName)
        #expect(body["scope"]?.stringValue == "openid profile email")
        #expect(calls.first?["headers"]?.objectValue?["auth0-forwarded-for"]?.stringValue == "203.0.113.5")

        let idToken = try #require(first["id_token"])
        let claims = try await world.ring().verify(idToken, audience: world.app.id)
        #expect(claims["sub"]?.stringValue == user.sub)

        #expect(try world.login(user.email, user.password).status == 200)
        let wrong = try world.login(user.email, "not-the-password")
        #expect(wrong.status == 403 && wrong.error == "invalid_grant" && wrong.description == "Wrong email or password.")
        #expect(try fake.calls("/oauth/token").count == 1, "no upstream call once the hash is local")
        #expect(try fake.calls("/userinfo").count == 1)
        let types = try world.logTypes()
        #expect(types.suffix(4) == ["spm", "s", "s", "fp"], "\(types)")
    }

    @Test("every upstream failure answers exactly as a wrong password; 5xx and dropped connections are retried once")
    func failuresLookLikeWrongPasswords() throws {
        let local = "local-\(UUID().uuidString.prefix(6))@example.com"
        try world.createUser(local, "Local-Pa55!")
        let reference = try world.login(local, "nope")
        #expect(reference.status == 403)
        let cases: [(mode: JSONValue, calls: Int)] = [
            (["token": "400"], 1), (["token": "500"], 2), (["token": "mfa_required"], 1), (["token": "unauthorized_client"], 1),
            (["token": "malformed"], 1), (["token": "drop"], 2), (["token": "ok", "userinfo": "500"], 3),
        ]
        for (mode, expected) in cases {
            try fake.control("/_reset", [:])
            try fake.control("/_mode", mode)
            let user = try fake.addUser()
            let reply = try world.login(user.email, user.password)
            #expect(reply.status == reference.status && reply.body == reference.body, "\(mode): \(reply.body)")
            #expect(reply.headers["cache-control"] == reference.headers["cache-control"])
            let made = try fake.calls("/oauth/token").count + fake.calls("/userinfo").count
            #expect(made == expected, "\(mode): \(made) upstream calls")
            let entry = try #require(try world.logs().entries.last)
            #expect(entry.type.rawValue == "fu" && entry.details?["upstream"]?.stringValue != nil, "\(mode): \(entry)")
        }
        let raw = try world.logs().raw
        #expect(!raw.contains(FakeUpstream.secret) && !raw.contains("Upstream-Pa55!"))
    }

    @Test("a slow upstream is cut at the time budget")
    func slowUpstreamIsCut() throws {
        try fake.control("/_mode", ["token": "slow"])
        let user = try fake.addUser()
        let started = Date()
        let reply = try world.login(user.email, user.password)
        let elapsed = Date().timeIntervalSince(started)
        #expect(reply.status == 403 && reply.error == "invalid_grant")
        #expect(elapsed < 4.0, "default budget 3 s; took \(elapsed)")
    }

    @Test("parallel first logins create exactly one user")
    func raceCreatesOneUser() throws {
        try fake.control("/_mode", ["delay_ms": 150])
        let user = try fake.addUser()
        // Separate processes, as two Lambda sandboxes would be: `gangway invoke token`, six at once.
        let event = try JSON.encode(
            GatewayEvent(
                routeKey: "POST /oauth/token", rawPath: "/oauth/token", rawQueryString: "",
                headers: ["host": world.host, "content-type": "application/json"], queryStringParameters: nil, pathParameters: nil,
                requestContext: .init(
                    domainName: world.host, requestId: "race",
                    http: .init(method: "POST", path: "/oauth/token", sourceIp: "198.51.100.7", userAgent: "t")),
                body: try JSON.string(
                    JSONValue.object([
                        "grant_type": .string(GrantType.passwordRealm.rawValue), "realm": .string(Connection.defaultName),
                        "username": .string(user.email), "password": .string(user.password), "client_id": .string(world.app.id),
                        "client_secret": .string(world.app.secret), "scope": "openid",
                    ])),
                isBase64Encoded: false
            ))
        let processes = (0..<6).map { _ -> (Process, Pipe) in
            let process = Process()
            let input = Pipe()
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: Bin.gangway)
            process.arguments = ["invoke", "token", "--store", world.scratch.store]
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            return (process, input)
        }
        for (process, _) in processes { try process.run() }
        for (_, input) in processes {
            try input.fileHandleForWriting.write(contentsOf: event)
            try input.fileHandleForWriting.close()
        }
        var statuses: [Int] = []
        for (process, _) in processes {
            let out = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            statuses.append(Int((try? JSONDecoder().decode(GatewayResponse.self, from: out))?.statusCode ?? -1))
        }
        #expect(statuses == Array(repeating: 200, count: 6))
        #expect(try fake.calls("/oauth/token").count >= 2, "the logins really raced")
        let dump = try gangway(["store", "list", "--store", world.scratch.store, "--prefix", StoreKeys.users(world.tenant.tenant)]).text
        #expect(dump.split(separator: "\n").filter { $0.contains(user.email) }.count == 1)
        #expect(!dump.contains(FakeUpstream.secret))
    }
}
