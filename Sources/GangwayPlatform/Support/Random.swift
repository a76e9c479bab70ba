import COpenSSL
import FoundationEssentials

/// Cryptographically secure randomness from OpenSSL's DRBG.
public enum Random {
    /// `n` random bytes. Traps if the DRBG fails (there is no safe fallback).
    public static func bytes(_ n: Int) -> [UInt8] {
        precondition(n >= 0 && n <= Int(Int32.max), "Random.bytes: bad count")
        if n == 0 { return [] }
        return [UInt8](unsafeUninitializedCapacity: n) { buf, count in
            precondition(RAND_bytes(buf.baseAddress, Int32(n)) == 1, "RAND_bytes failed")
            count = n
        }
    }

    /// An unguessable token: `bytes` random bytes, base64url without padding (32 bytes → 43 chars).
    public static func token(bytes: Int = 32) -> String {
        Base64URL.encode(Self.bytes(bytes))
    }

    private static let alphanumerics: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A uniformly random string of `length` characters from [A-Za-z0-9] (for client_id and similar ids).
    public static func identifier(length: Int) -> String {
        precondition(length >= 0)
        var out = [UInt8]()
        out.reserveCapacity(length)
        while out.count < length {
            // Rejection sampling: 248 = 62 * 4, so bytes below it map uniformly.
            for b in bytes(max(16, (length - out.count) * 5 / 4 + 8)) where b < 248 {
                out.append(alphanumerics[Int(b % 62)])
                if out.count == length { break }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
