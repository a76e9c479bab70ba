import FoundationEssentials

/// Cryptographically secure randomness from the kernel: `getrandom(2)`, through the standard library's
/// `SystemRandomNumberGenerator`. Not OpenSSL's DRBG: a one-shot process pays for setting that up (provider
/// fetch, DRBG instantiation and seeding from the same kernel source), measured at a third of a cold
/// `authorize`'s instructions (8.1 of 23.6 million, callgrind) for 48 random bytes.
public enum Random {
    /// `n` random bytes. Traps if the kernel cannot give them (there is no safe fallback).
    public static func bytes(_ n: Int) -> [UInt8] {
        precondition(n >= 0, "Random.bytes: bad count")
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8]()
        out.reserveCapacity(n)
        while out.count < n {
            let word = generator.next()
            withUnsafeBytes(of: word) { out.append(contentsOf: $0.prefix(n - out.count)) }
        }
        return out
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
