import GangwayPlatform

/// Proof Key for Code Exchange (RFC 7636), S256 only: the verifier's SHA-256, base64url without padding, must
/// equal the challenge `/authorize` received.
public enum PKCE {
    /// 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1, §4.2): the shape of both verifier and challenge.
    public static func isWellFormed(_ value: String) -> Bool {
        (43...128).contains(value.utf8.count)
            && value.utf8.allSatisfy { c in
                (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E || c == 0x5F
                    || c == 0x7E
            }
    }

    /// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
    public static func verifies(_ verifier: String, challenge: String) -> Bool {
        let computed = Base64URL.encode(Digest.sha256(verifier))
        return Digest.constantTimeEquals(Array(computed.utf8), Array(challenge.utf8))
    }
}
