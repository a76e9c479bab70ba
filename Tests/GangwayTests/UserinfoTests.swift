import Foundation
import GangwayAuth0
import Testing

/// GET/POST /userinfo behind the real gateway.
@Suite("Userinfo", .serialized)
struct UserinfoTests {
    /// A user's access token for the userinfo audience (and the tenant's API, as /oauth/token issues them).
    func userToken(_ env: ManagedTenant, sub: String, scope: String, type: String = "at+jwt", extra: [String: JSONValue] = [:]) throws
        -> String
    {
        var claims: [String: JSONValue] = [
            "sub": .string(sub), "aud": [.string(env.managementAudience), .string(env.issuer + "userinfo")],
            "scope": .string(scope), "azp": .string(env.tenant.app.client_id),
        ]
        claims.merge(extra) { $1 }
        return try env.sign(claims, type: type)
    }

    @Test("claims follow the granted scopes; sub, never user_id; not cacheable; GET and POST")
    func claimsByScope() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let user = try env.createUser(
            [
                "email": "grace@example.com", "email_verified": true, "name": "Grace Hopper", "nickname": "amazing", "given_name": "Grace",
                "family_name": "Hopper", "picture": "https://example.com/g.png", "username": "grace",
            ],
            token: admin
        )
        let sub = user["user_id"]?.stringValue ?? ""

        let openid = try env.call("GET", "/userinfo", token: try userToken(env, sub: sub, scope: "openid"))
        #expect(openid.status == 200 && openid.object == ["sub": .string(sub)], "\(openid.raw)")
        #expect(openid.headers["cache-control"] == "no-store")

        let profile = try env.call("GET", "/userinfo", token: try userToken(env, sub: sub, scope: "openid profile")).object
        #expect(profile["sub"]?.stringValue == sub && profile["name"] == "Grace Hopper" && profile["nickname"] == "amazing")
        #expect(profile["given_name"] == "Grace" && profile["family_name"] == "Hopper" && profile["picture"] == "https://example.com/g.png")
        #expect(profile["preferred_username"] == "grace" && profile["updated_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(profile["email"] == nil && profile["email_verified"] == nil)

        let email = try env.call("POST", "/userinfo", token: try userToken(env, sub: sub, scope: "openid email"))
        #expect(email.status == 200)
        #expect(email.object == ["sub": .string(sub), "email": "grace@example.com", "email_verified": true])

        let all = try env.call("GET", "/userinfo", token: try userToken(env, sub: sub, scope: "openid profile email offline_access")).object
        #expect(all["user_id"] == nil && all["identities"] == nil && all["app_metadata"] == nil && all["sub"]?.stringValue == sub)
        #expect(all["email"] != nil && all["name"] != nil)
    }

    @Test("every bad credential is 401 with a WWW-Authenticate Bearer challenge; no openid is 403")
    func unauthorized() throws {
        let env = try ManagedTenant()
        let admin = try env.managementToken(ManagedTenant.allScopes)
        let sub = try env.createUser(["email": "u@example.com"], token: admin)["user_id"]?.stringValue ?? ""
        let blocked = try env.createUser(["email": "b@example.com", "blocked": true], token: admin)["user_id"]?.stringValue ?? ""
        let doomed = try env.createUser(["email": "d@example.com"], token: admin)["user_id"]?.stringValue ?? ""
        let doomedToken = try userToken(env, sub: doomed, scope: "openid profile")
        #expect(try env.call("DELETE", "/api/v2/users/" + pathEscaped(doomed), token: admin).status == 204)
        let foreignIssuer = "http://tenant-b.test:\(env.gateway.port)/"
        _ = try initTenant(store: env.scratch.store, issuer: foreignIssuer)
        let now = Int64(Date().timeIntervalSince1970)

        // No credentials: the challenge names the realm and nothing else (RFC 6750 §3.1).
        for method in ["GET", "POST"] {
            let missing = try env.call(method, "/userinfo", token: nil)
            #expect(missing.status == 401)
            #expect(missing.headers["www-authenticate"] == "Bearer realm=\"\(env.issuer)\"")
            #expect(missing.object["error"] != nil && missing.headers["cache-control"] == "no-store")
        }
        let basic = try env.call("GET", "/userinfo", token: nil, headers: [("Authorization", "Basic dXNlcjpwYXNz")])
        #expect(basic.status == 401 && basic.headers["www-authenticate"] == "Bearer realm=\"\(env.issuer)\"")

        let cases: [(String, String)] = [
            ("garbage", "not.a.token"),
            ("expired", try userToken(env, sub: sub, scope: "openid", extra: ["iat": .int(now - 7200), "exp": .int(now - 3600)])),
            ("ID token with the right claims", try userToken(env, sub: sub, scope: "openid", type: "JWT")),
            (
                "another tenant's token",
                try env.sign(
                    ["sub": .string(sub), "aud": .string(env.issuer + "userinfo"), "scope": "openid"], tenant: foreignIssuer)
            ),
            (
                "Management API audience only",
                try env.sign(["sub": .string(sub), "aud": .string(env.managementAudience), "scope": "openid"])
            ),
            ("deleted user", doomedToken),
            ("blocked user", try userToken(env, sub: blocked, scope: "openid")),
            (
                "machine-to-machine token",
                try env.sign(
                    [
                        "sub": .string(env.m2mClient + "@clients"), "aud": .string(env.issuer + "userinfo"), "scope": "openid",
                        "gty": "client-credentials",
                    ])
            ),
        ]
        for (name, token) in cases {
            let answer = try env.call("GET", "/userinfo", token: token)
            #expect(answer.status == 401, "\(name): \(answer.raw)")
            #expect(
                answer.object["error"] == "invalid_token" && answer.object["error_description"]?.stringValue?.isEmpty == false, "\(name)")
            let challenge = answer.headers["www-authenticate"] ?? ""
            #expect(
                challenge.hasPrefix("Bearer realm=\"\(env.issuer)\", error=\"invalid_token\", error_description=\""),
                "\(name): \(challenge)")
            #expect(answer.object["sub"] == nil && answer.object["email"] == nil)
        }

        let noOpenid = try env.call("GET", "/userinfo", token: try userToken(env, sub: sub, scope: "profile email"))
        #expect(noOpenid.status == 403 && noOpenid.object["error"] == "insufficient_scope")
        #expect(noOpenid.headers["www-authenticate"]?.contains("error=\"insufficient_scope\"") == true)
        #expect(noOpenid.headers["www-authenticate"]?.contains("scope=\"openid\"") == true)
    }
}
