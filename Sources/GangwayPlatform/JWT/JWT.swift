import FoundationEssentials

/// Why a token was rejected. `message` is for logs and error descriptions; it never contains the token.
public struct JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case malformed, unsupportedAlgorithm, unknownKey, badSignature, expired, notYetValid
        case wrongIssuer, wrongAudience, missingClaim
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "JWTError.\(code.rawValue): \(message)" }
}

/// RS256 compact JWS: signing and strict verification.
public enum JWT {
    /// Tokens longer than this are rejected as malformed before any parsing.
    public static let maximumTokenLength = 64 * 1024

    /// Signs `claims` with header `{"alg":"RS256","typ":type,"kid":kid}`. Integer claims (exp, iat) must be `.int`.
    /// Claims are serialized compactly with sorted keys (doubles via `JSON.encode`; non-finite doubles throw).
    /// `type` is "JWT" for ID tokens and "at+jwt" for access tokens (RFC 9068), which is how an API tells them apart.
    public static func sign(claims: [String: JSONValue], key: RSAKey, kid: String, type: String = "JWT") throws -> String {
        var header: [UInt8] = Array(#"{"alg":"RS256","typ":"#.utf8)
        JSONValue.appendString(type, to: &header)
        header.append(contentsOf: Array(#","kid":"#.utf8))
        JSONValue.appendString(kid, to: &header)
        header.append(UInt8(ascii: "}"))
        var payload: [UInt8] = []
        payload.reserveCapacity(512)
        try JSONValue.object(claims).appendCompact(to: &payload)
        var input = Base64URL.encode(header)
        input += "."
        input += Base64URL.encode(payload)
        let signature = try key.signRS256(input.utf8)
        input += "."
        input += Base64URL.encode(signature)
        return input
    }

    /// Splits and decodes header and claims without checking anything else. Never use the result for
    /// authorization; it is for routing (e.g. picking a key by `kid`) and diagnostics.
    public static func decodeUnverified(_ token: String) throws(JWTError) -> (header: [String: JSONValue], claims: [String: JSONValue]) {
        let parts = try split(token)
        return (try decodeObject(parts.header, what: "header"), try decodeObject(parts.payload, what: "payload"))
    }

    /// Verifies an RS256 token and returns its claims.
    ///
    /// - `alg` must be exactly "RS256"; `kid` is required and resolved only through `keys`
    ///   (`jku`, `x5u`, `jwk`, `x5c` are ignored; `crit` is rejected).
    /// - `exp` is required and must be an integer with `exp > now - leeway`; `nbf`, if present, an integer
    ///   `<= now + leeway`; `iat`, if present, an integer.
    /// - `iss` must equal `issuer` byte for byte, and `aud` (string or array of strings) must contain
    ///   `audience`, when these are given.
    public static func verify(
        _ token: String,
        keys: (String) -> RSAKey?,
        issuer: String?,
        audience: String?,
        now: Int64 = Int64(Date().timeIntervalSince1970),
        leeway: Int64 = 60
    ) throws(JWTError) -> [String: JSONValue] {
        let parts = try split(token)
        let header = try decodeObject(parts.header, what: "header")

        guard case .string(let alg)? = header["alg"] else {
            throw JWTError(.unsupportedAlgorithm, "token header has no alg")
        }
        guard alg.utf8.elementsEqual("RS256".utf8) else {
            throw JWTError(.unsupportedAlgorithm, "token alg is not RS256")
        }
        if header["crit"] != nil {
            throw JWTError(.malformed, "token header has unsupported critical parameters")
        }
        guard case .string(let kid)? = header["kid"], !kid.isEmpty else {
            throw JWTError(.unknownKey, "token header has no kid")
        }
        guard let key = keys(kid) else {
            throw JWTError(.unknownKey, "no signing key matches the token's kid")
        }
        guard let signature = Base64URL.decodeCanonical(utf8: parts.signature), !signature.isEmpty else {
            throw JWTError(.malformed, "token signature is not valid base64url")
        }
        guard key.verifyRS256(signature: signature, message: parts.signingInput) else {
            throw JWTError(.badSignature, "token signature is invalid")
        }

        let claims = try decodeObject(parts.payload, what: "payload")

        guard let expValue = claims["exp"] else { throw JWTError(.missingClaim, "token has no exp claim") }
        guard case .int(let exp) = expValue else { throw JWTError(.malformed, "token exp claim is not an integer") }
        guard exp > now &- leeway else { throw JWTError(.expired, "token has expired") }

        if let nbfValue = claims["nbf"] {
            guard case .int(let nbf) = nbfValue else { throw JWTError(.malformed, "token nbf claim is not an integer") }
            guard nbf <= now &+ leeway else { throw JWTError(.notYetValid, "token is not valid yet (nbf)") }
        }
        if let iatValue = claims["iat"] {
            guard case .int = iatValue else { throw JWTError(.malformed, "token iat claim is not an integer") }
        }

        if let issuer {
            guard let issValue = claims["iss"] else { throw JWTError(.missingClaim, "token has no iss claim") }
            guard case .string(let iss) = issValue, iss.utf8.elementsEqual(issuer.utf8) else {
                throw JWTError(.wrongIssuer, "token issuer does not match")
            }
        }

        if let audience {
            guard let audValue = claims["aud"] else { throw JWTError(.missingClaim, "token has no aud claim") }
            let matches: Bool
            switch audValue {
            case .string(let aud):
                matches = aud.utf8.elementsEqual(audience.utf8)
            case .array(let list):
                var found = false
                for item in list {
                    guard case .string(let aud) = item else { throw JWTError(.malformed, "token aud array has a non-string member") }
                    if aud.utf8.elementsEqual(audience.utf8) { found = true }
                }
                matches = found
            default:
                throw JWTError(.malformed, "token aud claim is not a string or array of strings")
            }
            guard matches else { throw JWTError(.wrongAudience, "token audience does not match") }
        }

        return claims
    }

    // MARK: - Internals

    private struct Parts {
        var header: Substring.UTF8View
        var payload: Substring.UTF8View
        var signature: Substring.UTF8View
        var signingInput: Substring.UTF8View
    }

    private static func split(_ token: String) throws(JWTError) -> Parts {
        guard token.utf8.count <= maximumTokenLength else { throw JWTError(.malformed, "token is too long") }
        let pieces = token.utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard pieces.count == 3 else {
            throw JWTError(.malformed, "token must have exactly 3 dot-separated parts")
        }
        guard !pieces[0].isEmpty, !pieces[1].isEmpty else { throw JWTError(.malformed, "token has an empty part") }
        let sub = Substring(token)
        let signingInput = sub.utf8[pieces[0].startIndex..<pieces[1].endIndex]
        return Parts(header: pieces[0], payload: pieces[1], signature: pieces[2], signingInput: signingInput)
    }

    private static func decodeObject(_ part: Substring.UTF8View, what: String) throws(JWTError) -> [String: JSONValue] {
        guard let bytes = Base64URL.decodeCanonical(utf8: part) else {
            throw JWTError(.malformed, "token \(what) is not valid base64url")
        }
        // RFC 7515 §5.2 / RFC 7519 §7.2: a duplicate member name is an error, never "the last one wins".
        if JSONMemberNames.hasDuplicate(in: bytes) {
            throw JWTError(.malformed, "token \(what) repeats a member name")
        }
        do {
            return try JSON.decode([String: JSONValue].self, from: Data(bytes))
        } catch {
            throw JWTError(.malformed, "token \(what) is not a JSON object")
        }
    }
}
