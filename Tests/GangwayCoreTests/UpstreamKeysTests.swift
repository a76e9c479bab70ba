import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

@Suite("The old tenant's keys during a cutover")
struct UpstreamKeysTests {
    static let issuer = "https://login.example.com/"
    static let tenant = Tenant(
        id: "ten_cutover", issuer: issuer, domains: ["login.example.com"], defaultConnection: "db", settings: .init(), createdAt: .now)
    static let own = try! RSAKey.generate(bits: 2048)
    static let old = try! RSAKey.generate(bits: 2048)

    static func ring(upstream: [JWK]) -> KeyRing {
        let key = SigningKeySet.SigningKey(
            kid: "own", state: .current, sealedPrivateKey: nil, privateKeyPEM: own.privateKeyPEM, publicJWK: own.publicJWK(kid: "own"),
            createdAt: .now)
        return KeyRing(tenant: tenant, keySet: SigningKeySet(keys: [key]), upstream: upstream)
    }

    static func token(_ key: RSAKey, kid: String, type: String) throws -> String {
        let now = Int64(Date.now.timeIntervalSince1970)
        return try JWT.sign(
            claims: [
                "iss": .string(issuer), "sub": "auth0|abc", "aud": .array([.string(issuer + "userinfo")]), "iat": .int(now),
                "exp": .int(now + 600), "scope": "openid",
            ], key: key, kid: kid, type: type)
    }

    @Test("typ JWT is accepted on a token the old tenant's key signed, never on one of Gangway's own keys")
    func upstreamTypes() throws {
        let verifier = TokenVerifier(ring: Self.ring(upstream: [Self.old.publicJWK(kid: "old")]))
        let audience = Self.issuer + "userinfo"
        #expect(
            try verifier.verify(Self.token(Self.old, kid: "old", type: "JWT"), as: AccessToken.self, audience: audience).subject
                == "auth0|abc")
        #expect(
            try verifier.verify(Self.token(Self.old, kid: "old", type: "at+jwt"), as: AccessToken.self, audience: audience).scopes == [
                "openid"
            ])
        #expect(
            try verifier.verify(Self.token(Self.own, kid: "own", type: "at+jwt"), as: AccessToken.self, audience: audience).subject
                == "auth0|abc")
        #expect(throws: TokenRejection.wrongType) {
            try verifier.verify(Self.token(Self.own, kid: "own", type: "JWT"), as: AccessToken.self, audience: audience)
        }
        // A ring without the upstream keys (every door but /userinfo) does not know the kid.
        #expect(throws: TokenRejection.self) {
            try TokenVerifier(ring: Self.ring(upstream: [])).verify(
                Self.token(Self.old, kid: "old", type: "JWT"), as: AccessToken.self, audience: audience)
        }
        #expect(TokenDoor.userinfo.trustsUpstreamKeys && !TokenDoor.managementAPI.trustsUpstreamKeys)
        #expect(!TokenDoor.linkWith(azp: "x").trustsUpstreamKeys)
    }

    @Test("the keys are open until the deadline and closed from it on")
    func window() {
        let deadline = Date(timeIntervalSince1970: 2_000_000_000)
        let keys = UpstreamKeys(keys: [Self.old.publicJWK(kid: "old")], source: "test", deadline: deadline)
        #expect(keys.open(at: deadline.addingTimeInterval(-1)).map(\.kid) == ["old"])
        #expect(keys.open(at: deadline).isEmpty)
    }

    @Test("a JWKS is refused whole when one key is not an RS256 signing key or names a kid twice")
    func parse() throws {
        let good = Self.old.publicJWK(kid: "old")
        func document(_ keys: [[String: String]]) -> [UInt8] { Array(try! JSONEncoder().encode(["keys": keys])) }
        let valid = ["kty": "RSA", "kid": good.kid, "n": good.n, "e": good.e, "use": "sig", "alg": "RS256"]
        #expect(try UpstreamKeys.parse(jwks: document([valid]), ownKids: []).map(\.kid) == ["old"])
        for (keys, own) in [([valid.merging(["alg": "RS512"]) { $1 }], []), ([valid, valid], []), ([valid], ["old"]), ([], [])] {
            #expect(throws: UpstreamKeys.Rejected.self) { try UpstreamKeys.parse(jwks: document(keys), ownKids: Set(own)) }
        }
    }

    @Test("gunzip reads a gzip file fed in slices of any size and refuses a corrupt one")
    func gunzip() throws {
        let text = Array((0..<5000).map { "{\"user_id\":\"auth0|\($0)\"}\n" }.joined().utf8)
        let gzip = try Gzip()
        try gzip.append(text)
        let file = try gzip.finish()
        for slice in [1, 7, 4096, file.count] {
            let reader = try Gunzip()
            var out: [UInt8] = []
            var offset = 0
            while offset < file.count {
                out += try reader.inflate(file[offset..<min(offset + slice, file.count)])
                offset += slice
            }
            #expect(out == text && reader.finished)
        }
        var corrupt = file
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: Gzip.Failure.self) { _ = try Gunzip().inflate(corrupt) }
        #expect(throws: Gzip.Failure.self) { _ = try Gunzip().inflate(file + [0x00]) }
    }
}
