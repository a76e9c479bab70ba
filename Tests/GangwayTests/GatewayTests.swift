import Foundation
import GangwayAuth0
import Testing

/// The real `gangway serve` in front of the real `well-known` executable, in both modes.
@Suite("Gateway", .serialized)
struct GatewayTests {
    @Test("discovery and JWKS point at the gateway", arguments: ["cgi", "warm"])
    func discoveryAndJWKS(mode: String) throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: mode)
        let (status, discovery) = try gateway.json("GET", "/.well-known/openid-configuration")
        #expect(status == 200)
        let issuer = "\(gateway.base)/"
        #expect(discovery["issuer"]?.stringValue == issuer)
        #expect(discovery["jwks_uri"]?.stringValue == issuer + ".well-known/jwks.json")
        #expect(discovery["token_endpoint"]?.stringValue == issuer + "oauth/token")
        #expect(discovery["userinfo_endpoint"]?.stringValue == issuer + "userinfo")

        let (jwksStatus, jwks) = try gateway.json("GET", "/.well-known/jwks.json")
        #expect(jwksStatus == 200)
        let keys = jwks["keys"]?.arrayValue ?? []
        #expect(keys.count == 1)
        #expect(keys.first?["alg"] == "RS256" && keys.first?["kty"] == "RSA" && keys.first?["e"] == "AQAB")
        #expect(keys.first?["d"] == nil, "the JWKS must never carry private parts")
    }

    @Test("unknown route is 404 JSON, wrong method 405, bad escape 400")
    func unknownRoutes() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "cgi")
        let (status, body) = try gateway.json("GET", "/nope")
        #expect(status == 404 && body["error"] == "not_found")
        let wrongMethod = try gateway.request("DELETE", "/.well-known/jwks.json")
        #expect(wrongMethod.status == 405)
        let management = try gateway.json("GET", "/api/v2/nothing-here")
        #expect(management.0 == 404 && management.1["statusCode"] == 404 && management.1["errorCode"] == "not_found")
    }

    @Test("the Host header selects the tenant; an unknown host gets 404 and nobody else's keys")
    func tenantByHost() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "warm")
        let other = try initTenant(store: scratch.store, issuer: "http://tenant-b.test:\(gateway.port)/")
        #expect(other.created)

        let (_, a) = try gateway.json("GET", "/.well-known/jwks.json")
        let (_, b) = try gateway.json("GET", "/.well-known/jwks.json", headers: [("Host", "tenant-b.test:\(gateway.port)")])
        let kidsA = Set(a["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? [])
        let kidsB = Set(b["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? [])
        #expect(!kidsA.isEmpty && !kidsB.isEmpty && kidsA.isDisjoint(with: kidsB))
        let (_, discoveryB) = try gateway.json(
            "GET", "/.well-known/openid-configuration", headers: [("Host", "tenant-b.test:\(gateway.port)")])
        #expect(discoveryB["issuer"]?.stringValue == "http://tenant-b.test:\(gateway.port)/")

        let (status, unknown) = try gateway.json("GET", "/.well-known/jwks.json", headers: [("Host", "evil.test")])
        #expect(status == 404 && unknown["error"] == "unknown_tenant" && unknown["keys"] == nil)
    }

    @Test("key rotation: the new key is current and first, the old stays until retired")
    func keyRotation() throws {
        let scratch = Scratch()
        let gateway = try GatewayProcess(store: scratch.store, mode: "warm")
        let before = try gateway.json("GET", "/.well-known/jwks.json").1["keys"]?.arrayValue ?? []
        let oldToken = try gangway(["jwt", "sign", "--store", scratch.store, "--claims", #"{"sub":"u1","aud":"x"}"#]).text
            .trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(try gangway(["keys", "rotate", "--store", scratch.store]).status == 0)
        let after = try gateway.json("GET", "/.well-known/jwks.json").1["keys"]?.arrayValue ?? []
        #expect(after.count == 2)
        #expect(after.last?["kid"] == before.first?["kid"], "the previous key stays published")
        #expect(after.first?["kid"] != before.first?["kid"], "the new key is listed first")
        #expect(try gangway(["jwt", "verify", oldToken, "--store", scratch.store]).status == 0)

        let newToken = try gangway(["jwt", "sign", "--store", scratch.store, "--claims", #"{"sub":"u1"}"#]).text
        let header = try JWT.decodeUnverified(newToken.trimmingCharacters(in: .whitespacesAndNewlines)).header
        #expect(header["kid"] == after.first?["kid"], "the new key signs")

        #expect(try gangway(["keys", "retire", "--store", scratch.store]).status == 0)
        let retired = try gateway.json("GET", "/.well-known/jwks.json").1["keys"]?.arrayValue ?? []
        #expect(retired.count == 1 && retired.first?["kid"] == after.first?["kid"])
        let rejected = try gangway(["jwt", "verify", oldToken, "--store", scratch.store])
        #expect(rejected.status == 1 && rejected.stderr.contains("unknownKey"))
    }

    @Test("init is idempotent and shows secrets only once")
    func initIsIdempotent() throws {
        let scratch = Scratch()
        let first = try initTenant(store: scratch.store, issuer: "http://127.0.0.1:4999")
        #expect(first.created && first.issuer == "http://127.0.0.1:4999/")
        #expect(first.app.client_secret?.count ?? 0 >= 40 && first.management.audience == "http://127.0.0.1:4999/api/v2/")
        let second = try initTenant(store: scratch.store, issuer: "http://127.0.0.1:4999/")
        #expect(!second.created && second.tenant == first.tenant)
        #expect(second.app.client_id == first.app.client_id && second.management.client_id == first.management.client_id)
        #expect(second.app.client_secret == nil && second.management.client_secret == nil)
        #expect(second.connection.id == first.connection.id && first.connection.name == "Username-Password-Authentication")
        // The store holds a hash of each secret, never the secret itself.
        let dump = try gangway(["store", "list", "--store", scratch.store, "--prefix", ""]).text
        #expect(!dump.contains(first.app.client_secret!) && !dump.contains(first.management.client_secret!))
    }
}
