import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

// Shared keys: generation is slow, so each is made once per test process.
private let serverKey = try! RSAKey.generate(bits: 2048)
private let attackerKey = try! RSAKey.generate(bits: 2048)
private let kid = "gw-test-key-1"
private let now: Int64 = 1_700_000_000
private let issuer = "https://tenant.gangway.test/"
private let audience = "https://api.example.com/"

private func lookup(_ k: String) -> RSAKey? { k == kid ? serverKey : nil }

private func validClaims() -> [String: JSONValue] {
    [
        "iss": .string(issuer), "sub": "auth0|user-1", "aud": .string(audience),
        "iat": .int(now - 10), "exp": .int(now + 3600), "scope": "openid profile",
    ]
}

private func segment(_ value: [String: JSONValue]) -> String {
    Base64URL.encode(try! JSON.encode(value))
}

/// Builds a token with an arbitrary header, RS256-signed by `signer` (or with an empty signature).
private func forge(header: [String: JSONValue], claims: [String: JSONValue], signer: RSAKey?) -> String {
    let input = segment(header) + "." + segment(claims)
    let sig = signer.map { Base64URL.encode(try! $0.signRS256(Array(input.utf8))) } ?? ""
    return input + "." + sig
}

private func verify(
    _ token: String, issuer iss: String? = issuer, audience aud: String? = audience,
    keys: (String) -> RSAKey? = lookup
) throws(JWTError) -> [String: JSONValue] {
    try JWT.verify(token, keys: keys, issuer: iss, audience: aud, now: now)
}

private func expectRejected(
    _ token: String, _ code: JWTError.Code, issuer iss: String? = issuer,
    audience aud: String? = audience, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        _ = try verify(token, issuer: iss, audience: aud)
        Issue.record("token was accepted; expected \(code)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(!error.message.contains(token), sourceLocation: sourceLocation)
    }
}

private func expectAccepted(
    _ token: String, issuer iss: String? = issuer, audience aud: String? = audience,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do { _ = try verify(token, issuer: iss, audience: aud) } catch {
        Issue.record("token was rejected: \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct JWTTests {
    // MARK: Round trips

    @Test func signVerifyRoundTrip() throws {
        let claims = validClaims()
        let token = try JWT.sign(claims: claims, key: serverKey, kid: kid)
        #expect(token.split(separator: ".", omittingEmptySubsequences: false).count == 3)
        let verified = try verify(token)
        #expect(verified == claims)
        let (header, decoded) = try JWT.decodeUnverified(token)
        #expect(header == ["alg": "RS256", "typ": "JWT", "kid": .string(kid)])
        #expect(decoded == claims)
        // exp/iat serialize as JSON integers.
        let payload = String(decoding: Base64URL.decode(String(token.split(separator: ".")[1]))!, as: UTF8.self)
        #expect(payload.contains("\"exp\":\(now + 3600)"))
        #expect(payload.contains("\"iat\":\(now - 10)"))
    }

    @Test func claimsSerializationRoundTrips() throws {
        let claims: [String: JSONValue] = [
            "exp": .int(now + 60), "neg": .int(Int64.min), "big": .int(Int64.max), "pi": .double(3.25), "t": true, "f": false,
            "n": nil, "s": "quote\" back\\ slash/ nl\n tab\t ctl\u{1}\u{1f} del\u{7f} é 😀 \u{2028}",
            "arr": [1, "two", [3], ["k": "v"], nil], "obj": ["z": 1, "a": ["b": "c"], "é": "x", "": "empty"], "": "k",
        ]
        let token = try JWT.sign(claims: claims, key: serverKey, kid: kid)
        #expect(try JWT.decodeUnverified(token).claims == claims)
        #expect(try JWT.verify(token, keys: lookup, issuer: nil, audience: nil, now: now) == claims)
        let payload = String(decoding: Base64URL.decode(String(token.split(separator: ".")[1]))!, as: UTF8.self)
        #expect(payload.hasPrefix(#"{"":"k","arr":[1,"two",[3],{"k":"v"},null],"big":9223372036854775807,"exp":"#))
        #expect(throws: (any Error).self) { try JWT.sign(claims: ["exp": .double(.nan)], key: serverKey, kid: kid) }
    }

    @Test func kidIsEscapedInHeader() throws {
        let odd = "k\"id\\\n\u{1}é"
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: odd)
        #expect(try JWT.decodeUnverified(token).header["kid"] == .string(odd))
        _ = try JWT.verify(token, keys: { $0 == odd ? serverKey : nil }, issuer: issuer, audience: audience, now: now)
    }

    @Test func forgeHelperProducesValidTokens() throws {
        // Control for the rejection tests below: the same construction with a proper header is accepted.
        let token = forge(header: ["alg": "RS256", "typ": "JWT", "kid": .string(kid)], claims: validClaims(), signer: serverKey)
        #expect(try verify(token) == validClaims())
    }

    @Test func jwkExportVerifies() throws {
        let jwk = serverKey.publicJWK(kid: kid)
        #expect(jwk.kty == "RSA" && jwk.use == "sig" && jwk.alg == "RS256" && jwk.kid == kid)
        #expect(jwk.e == "AQAB")
        #expect(Base64URL.decode(jwk.n)?.count == 256)
        let jwks = try JSON.decode(JWKS.self, from: try JSON.encode(JWKS(keys: [jwk])))
        let publicKey = try RSAKey(jwk: jwks.keys[0])
        #expect(!publicKey.isPrivate)
        #expect(publicKey.publicJWK(kid: kid) == jwk)
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: kid)
        _ = try JWT.verify(token, keys: { $0 == kid ? publicKey : nil }, issuer: issuer, audience: audience, now: now)
        #expect(throws: (any Error).self) { try publicKey.signRS256([1, 2, 3]) }
        // A JWK of the wrong type, or a too-small modulus, is refused.
        var bad = jwk
        bad.kty = "EC"
        #expect(throws: RSAKeyError.self) { try RSAKey(jwk: bad) }
        bad = jwk
        bad.n = Base64URL.encode(Array(Base64URL.decode(jwk.n)!.prefix(128)))
        #expect(throws: RSAKeyError.self) { try RSAKey(jwk: bad) }
        bad = jwk
        bad.n = "not*base64"
        #expect(throws: RSAKeyError.self) { try RSAKey(jwk: bad) }
    }

    @Test func pemRoundTrip() throws {
        let pem = serverKey.privateKeyPEM
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let reloaded = try RSAKey(privateKeyPEM: pem)
        #expect(reloaded.isPrivate)
        #expect(reloaded.publicJWK(kid: "x") == serverKey.publicJWK(kid: "x"))
        #expect(reloaded.privateKeyPEM == pem)
        let token = try JWT.sign(claims: validClaims(), key: reloaded, kid: kid)
        _ = try verify(token)
        let pub = try RSAKey(publicKeyPEM: serverKey.publicKeyPEM)
        #expect(pub.verifyRS256(signature: try serverKey.signRS256(Array("m".utf8)), message: Array("m".utf8)))
        #expect(throws: RSAKeyError.self) { try RSAKey(privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        #expect(throws: RSAKeyError.self) { try RSAKey(privateKeyPEM: serverKey.publicKeyPEM) }
    }

    @Test func concurrentSignAndVerify() async throws {
        let ok = try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var good = 0
                    for i in 0..<10 {
                        var claims = validClaims()
                        claims["sub"] = .string("user-\(t)-\(i)")
                        let token = try JWT.sign(claims: claims, key: serverKey, kid: kid)
                        if try verify(token)["sub"] == claims["sub"] { good += 1 }
                    }
                    return good
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(ok == 80)
    }

    @Test func rawSignVerify() throws {
        let msg = Array("hello".utf8)
        let sig = try serverKey.signRS256(msg)
        #expect(sig.count == 256)
        #expect(serverKey.verifyRS256(signature: sig, message: msg))
        #expect(!serverKey.verifyRS256(signature: sig, message: Array("hellp".utf8)))
        #expect(!attackerKey.verifyRS256(signature: sig, message: msg))
        #expect(!serverKey.verifyRS256(signature: sig.dropLast(), message: msg))
        var flipped = sig
        flipped[100] ^= 1
        #expect(!serverKey.verifyRS256(signature: flipped, message: msg))
    }

    // MARK: Algorithm confusion

    @Test func rejectsAlgNone() {
        expectRejected(
            forge(header: ["alg": "none", "typ": "JWT", "kid": .string(kid)], claims: validClaims(), signer: nil), .unsupportedAlgorithm)
        expectRejected(forge(header: ["alg": "none"], claims: validClaims(), signer: nil), .unsupportedAlgorithm)
    }

    @Test func rejectsAlgNoneCapitalisedAndVariants() {
        for alg: JSONValue in ["None", "NONE", "rs256", "RS256 ", "", .null, 256, ["RS256"]] {
            expectRejected(
                forge(header: ["alg": alg, "kid": .string(kid)], claims: validClaims(), signer: serverKey), .unsupportedAlgorithm)
        }
    }

    @Test func rejectsMissingAlg() {
        expectRejected(forge(header: ["typ": "JWT", "kid": .string(kid)], claims: validClaims(), signer: serverKey), .unsupportedAlgorithm)
    }

    @Test func rejectsHS256WithPublicKeyAsSecret() throws {
        let input = segment(["alg": "HS256", "typ": "JWT", "kid": .string(kid)]) + "." + segment(validClaims())
        let secrets: [String] = [
            serverKey.publicKeyPEM,
            try JSON.string(serverKey.publicJWK(kid: kid)),
            try JSON.string(JWKS(keys: [serverKey.publicJWK(kid: kid)])),
        ]
        for secret in secrets {
            let mac = Digest.hmacSHA256(key: Array(secret.utf8), data: Array(input.utf8))
            expectRejected(input + "." + Base64URL.encode(mac), .unsupportedAlgorithm)
        }
    }

    @Test func rejectsRS512() {
        expectRejected(
            forge(header: ["alg": "RS512", "typ": "JWT", "kid": .string(kid)], claims: validClaims(), signer: serverKey),
            .unsupportedAlgorithm)
        expectRejected(
            forge(header: ["alg": "PS256", "typ": "JWT", "kid": .string(kid)], claims: validClaims(), signer: serverKey),
            .unsupportedAlgorithm)
    }

    // MARK: Tampering and keys

    @Test func rejectsTamperedPayload() throws {
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: kid)
        var parts = token.split(separator: ".").map(String.init)
        var claims = validClaims()
        claims["sub"] = "auth0|admin"
        parts[1] = segment(claims)
        expectRejected(parts.joined(separator: "."), .badSignature)
    }

    @Test func rejectsTamperedHeader() throws {
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: kid)
        var parts = token.split(separator: ".").map(String.init)
        parts[0] = segment(["alg": "RS256", "typ": "JWT", "kid": .string(kid), "x": 1])
        expectRejected(parts.joined(separator: "."), .badSignature)
    }

    @Test func rejectsSignatureFromOtherKey() {
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: validClaims(), signer: attackerKey), .badSignature)
    }

    @Test func rejectsUnknownKid() throws {
        expectRejected(try JWT.sign(claims: validClaims(), key: serverKey, kid: "other-kid"), .unknownKey)
    }

    @Test func rejectsMissingKid() {
        expectRejected(forge(header: ["alg": "RS256", "typ": "JWT"], claims: validClaims(), signer: serverKey), .unknownKey)
        expectRejected(forge(header: ["alg": "RS256", "kid": 7], claims: validClaims(), signer: serverKey), .unknownKey)
        expectRejected(forge(header: ["alg": "RS256", "kid": ""], claims: validClaims(), signer: serverKey), .unknownKey)
    }

    @Test func ignoresEmbeddedJWK() throws {
        let jwk = try JSON.decode(JSONValue.self, from: JSON.encode(attackerKey.publicJWK(kid: "attacker")))
        // The attacker's own kid is unknown to us...
        expectRejected(
            forge(header: ["alg": "RS256", "kid": "attacker", "jwk": jwk], claims: validClaims(), signer: attackerKey), .unknownKey)
        // ...and with our kid, our key is used, so the attacker's signature fails.
        expectRejected(
            forge(header: ["alg": "RS256", "kid": .string(kid), "jwk": jwk], claims: validClaims(), signer: attackerKey), .badSignature)
        expectRejected(
            forge(header: ["alg": "RS256", "kid": .string(kid), "x5c": ["MIIB"]], claims: validClaims(), signer: attackerKey), .badSignature
        )
    }

    @Test func ignoresJku() {
        expectRejected(
            forge(
                header: ["alg": "RS256", "kid": .string(kid), "jku": "https://evil.example/jwks.json"], claims: validClaims(),
                signer: attackerKey), .badSignature)
        expectRejected(
            forge(
                header: ["alg": "RS256", "kid": "attacker", "jku": "https://evil.example/jwks.json", "x5u": "https://evil.example/c.pem"],
                claims: validClaims(), signer: attackerKey), .unknownKey)
        // Properly signed by our key, the ignored header does no harm.
        expectAccepted(
            forge(
                header: ["alg": "RS256", "kid": .string(kid), "jku": "https://evil.example/jwks.json"], claims: validClaims(),
                signer: serverKey))
    }

    @Test func rejectsCrit() {
        expectRejected(
            forge(header: ["alg": "RS256", "kid": .string(kid), "crit": ["exp"]], claims: validClaims(), signer: serverKey), .malformed)
    }

    // MARK: Claims

    @Test func rejectsExpired() {
        var claims = validClaims()
        claims["exp"] = .int(now - 61)
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .expired)
        claims["exp"] = .int(now - 59)  // within the 60 s leeway
        expectAccepted(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey))
    }

    @Test func rejectsMissingOrNonIntegerExp() {
        var claims = validClaims()
        claims["exp"] = .string(String(now + 3600))
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .malformed)
        claims["exp"] = .double(Double(now) + 3600.5)
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .malformed)
        claims["exp"] = nil
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .missingClaim)
        claims = validClaims()
        claims["iat"] = "yesterday"
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .malformed)
    }

    @Test func rejectsNotYetValid() {
        var claims = validClaims()
        claims["nbf"] = .int(now + 120)
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .notYetValid)
        claims["nbf"] = .int(now + 30)  // within leeway
        expectAccepted(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey))
    }

    @Test func rejectsWrongIssuer() {
        for iss: JSONValue in ["https://evil.example/", "https://tenant.gangway.test", .array([.string(issuer)]), 1] {
            var claims = validClaims()
            claims["iss"] = iss
            expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .wrongIssuer)
        }
        var claims = validClaims()
        claims["iss"] = nil
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .missingClaim)
        // No issuer requested: not checked.
        expectAccepted(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), issuer: nil)
    }

    @Test func rejectsWrongAudience() {
        var claims = validClaims()
        claims["aud"] = "https://other.example.com/"
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .wrongAudience)
        claims["aud"] = ["https://other.example.com/", "https://api.example.com"]
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .wrongAudience)
        claims["aud"] = nil
        expectRejected(forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey), .missingClaim)
    }

    @Test func acceptsAudienceArrayContainingAudience() throws {
        var claims = validClaims()
        claims["aud"] = ["https://other.example.com/", .string(audience)]
        let token = forge(header: ["alg": "RS256", "kid": .string(kid)], claims: claims, signer: serverKey)
        #expect(try verify(token)["aud"] == claims["aud"])
    }

    // MARK: Structure

    @Test func rejectsMalformedBase64() throws {
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: kid)
        let parts = token.split(separator: ".").map(String.init)
        expectRejected("*" + parts[0].dropFirst() + "." + parts[1] + "." + parts[2], .malformed)
        expectRejected(parts[0] + "." + parts[1] + "." + "+" + parts[2].dropFirst(), .malformed)
        expectRejected(parts[0] + "." + parts[1] + "." + parts[2] + "=", .malformed)
        expectRejected(parts[0] + "." + parts[1] + "." + parts[2].dropLast(), .malformed)
        // The payload is only parsed after the signature checks out.
        expectRejected(parts[0] + "." + String(parts[1].dropFirst()) + "." + parts[2], .badSignature)
        let badPayload = parts[0] + "." + "e30*"
        let signed = badPayload + "." + Base64URL.encode(try serverKey.signRS256(Array(badPayload.utf8)))
        expectRejected(signed, .malformed)
        let notObject = parts[0] + "." + Base64URL.encode("\"x\"")
        expectRejected(notObject + "." + Base64URL.encode(try serverKey.signRS256(Array(notObject.utf8))), .malformed)
        // Valid base64url that is not a JSON object.
        expectRejected(Base64URL.encode("[1]") + "." + parts[1] + "." + parts[2], .malformed)
        expectRejected(Base64URL.encode("not json") + "." + parts[1] + "." + parts[2], .malformed)
        #expect(throws: JWTError.self) { try JWT.decodeUnverified("a*b.c.d") }
    }

    /// Signs raw header and payload texts, for shapes `forge` (which encodes dictionaries) cannot make.
    private func signRaw(header: String, payload: String) throws -> String {
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        return input + "." + Base64URL.encode(try serverKey.signRS256(Array(input.utf8)))
    }

    private var payloadText: String { String(decoding: try! JSON.encode(validClaims()), as: UTF8.self) }

    @Test("a header or claims set that repeats a member name is rejected (RFC 7515 §5.2), however it is spelled")
    func rejectsDuplicateMemberNames() throws {
        let header = #"{"alg":"RS256","kid":"\#(kid)"}"#
        expectAccepted(try signRaw(header: header, payload: payloadText))
        // The same names in different objects are not duplicates.
        expectAccepted(try signRaw(header: header, payload: String(payloadText.dropLast()) + #","x":{"sub":1,"y":[{"sub":2}]}}"#))
        let duplicates = [
            (#"{"alg":"RS256","kid":"\#(kid)","kid":"\#(kid)"}"#, payloadText),
            (#"{"alg":"RS256","kid":"\#(kid)","alg":"RS256"}"#, payloadText),
            (header, String(payloadText.dropLast()) + #","sub":"auth0|someone-else"}"#),
            (header, String(payloadText.dropLast()) + #","sub":"auth0|someone-else"}"#),
            (header, String(payloadText.dropLast()) + #","x":{"a":1,"a":2}}"#),
        ]
        for (h, p) in duplicates {
            expectRejected(try signRaw(header: h, payload: p), .malformed)
            #expect(throws: JWTError.self) { try JWT.decodeUnverified(try signRaw(header: h, payload: p)) }
        }
    }

    @Test("JWS parts in a non-canonical base64url spelling (padding, non-zero trailing bits) are rejected")
    func rejectsNonCanonicalBase64URL() throws {
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: kid)
        let parts = token.split(separator: ".").map(String.init)
        expectAccepted(token)
        func padded(_ s: String) -> String { s + String(repeating: "=", count: (4 - s.count % 4) % 4) }
        // 256-byte signatures leave 2 characters over: "==" is well-formed padding, and still refused.
        #expect(parts[2].count % 4 == 2)
        expectRejected(parts[0] + "." + parts[1] + "." + padded(parts[2]), .malformed)
        // Header and payload padded, and the result signed: refused as malformed, not merely as a bad signature.
        let header = padded(parts[0]) + "." + parts[1]
        let payload = parts[0] + "." + padded(parts[1])
        #expect(header != parts[0] + "." + parts[1] || payload != parts[0] + "." + parts[1])
        for input in [header, payload] where input != parts[0] + "." + parts[1] {
            expectRejected(input + "." + Base64URL.encode(try serverKey.signRS256(Array(input.utf8))), .malformed)
        }
        // Flip the unused low bits of the signature's last character: same bytes under a lax decoder.
        let last = parts[2].last!
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let sibling = alphabet[alphabet.firstIndex(of: last)! ^ 1]
        expectRejected(parts[0] + "." + parts[1] + "." + parts[2].dropLast() + String(sibling), .malformed)
        #expect(Base64URL.decodeCanonical("AA==") == nil && Base64URL.decodeCanonical("AA") == [0])
    }

    @Test func rejectsWrongPartCount() throws {
        let token = try JWT.sign(claims: validClaims(), key: serverKey, kid: kid)
        let parts = token.split(separator: ".").map(String.init)
        expectRejected(parts[0] + "." + parts[1], .malformed)
        expectRejected(token + "." + parts[2], .malformed)
        expectRejected(token + ".", .malformed)
        expectRejected("", .malformed)
        expectRejected("..", .malformed)
        expectRejected(parts[0] + "." + parts[1] + ".", .malformed)
        expectRejected(String(repeating: "A", count: 70_000) + "." + parts[1] + "." + parts[2], .malformed)
    }
}

@Suite struct SupportCryptoTests {
    @Test func base64URLRoundTripAndStrictness() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
            let s = Base64URL.encode(bytes)
            #expect(!s.contains("=") && !s.contains("+") && !s.contains("/"))
            #expect(Base64URL.decode(s) == bytes)
            #expect(Base64URL.encode(Data(bytes)) == s)
            #expect(
                Base64URL.encode(bytes)
                    == Data(bytes).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: ""))
        }
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
        #expect(Base64URL.decode("-_8=") == [0xfb, 0xff])  // correct padding tolerated
        #expect(Base64URL.decode("AA==") == [0])
        #expect(Base64URL.decode("AA=") == nil)  // wrong padding
        #expect(Base64URL.decode("AAA==") == nil)
        #expect(Base64URL.decode("A") == nil)  // impossible length
        #expect(Base64URL.decode("+/8") == nil)  // standard alphabet rejected
        #expect(Base64URL.decode("AB") == nil)  // non-zero trailing bits
        #expect(Base64URL.decode("AA A") == nil)
        #expect(Base64URL.decode("AAé") == nil)
        #expect(Base64URL.decode("") == [])
    }

    @Test func digests() {
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.hex(Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            Digest.hex(Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Digest.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Digest.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Digest.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(Digest.constantTimeEquals([], []))
    }

    @Test func randomness() {
        #expect(Random.bytes(0).isEmpty)
        #expect(Random.bytes(32).count == 32)
        #expect(Random.bytes(32) != Random.bytes(32))
        // Lengths that are not a multiple of the generator's 8-byte word, and every byte value reachable.
        #expect([1, 7, 9, 13, 48].map { Random.bytes($0).count } == [1, 7, 9, 13, 48])
        #expect(Set(Random.bytes(8192)).count == 256)
        let t = Random.token()
        #expect(t.count == 43 && Base64URL.decode(t)?.count == 32)
        #expect(Random.token(bytes: 16).count == 22)
        let id = Random.identifier(length: 32)
        #expect(id.count == 32)
        #expect(id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) })
        #expect(Random.identifier(length: 0).isEmpty)
        #expect(Random.identifier(length: 500).count == 500)
    }
}
