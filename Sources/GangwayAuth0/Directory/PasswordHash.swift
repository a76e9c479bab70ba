import CCrypt
import FoundationEssentials
import GangwayPlatform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// bcrypt password hashes on the system libxcrypt (`crypt_gensalt_rn` + `crypt_rn`, both thread-safe).
///
/// - Passwords are UTF-8 bytes as given (no normalization). bcrypt only uses the **first 72 bytes**:
///   two passwords that share their first 72 bytes hash the same. Enforce a length policy upstream if that matters.
/// - A password containing a NUL byte is rejected by `make` (`.invalidPassword`) and never verifies,
///   because C strings would silently truncate it at the NUL.
/// - Passwords of `maxPasswordBytes` (511) or more bytes are rejected by libxcrypt; `make` throws, `verify` is false.
public enum PasswordHash {
    public static let defaultCost = 10
    /// Hashes with a higher cost are treated as malformed by `verify` (cost 31 would take days: a DoS vector).
    public static let maxVerifyCost = 16
    /// libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE (512) minus the terminating NUL.
    public static let maxPasswordBytes = 511

    public enum Failure: Error, Sendable, Equatable {
        case invalidPassword  // contains NUL, or too long for libxcrypt
        case invalidCost  // outside 4...31
        case randomUnavailable
        case cryptFailed
    }

    /// bcrypt `$2b$` with the given cost (default 10): a 60-character string like `$2b$10$<22 salt><31 hash>`.
    public static func make(_ password: String, cost: Int = defaultCost) throws -> String {
        guard isAcceptable(password) else { throw Failure.invalidPassword }
        guard (4...31).contains(cost) else { throw Failure.invalidCost }

        var random = [UInt8](repeating: 0, count: 16)
        guard fillRandom(&random) else { throw Failure.randomUnavailable }
        defer { wipe(&random) }

        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let ok = random.withUnsafeBufferPointer { rb in
            rb.withMemoryRebound(to: CChar.self) { rbytes in
                crypt_gensalt_rn("$2b$", UInt(cost), rbytes.baseAddress, Int32(rbytes.count), &setting, Int32(setting.count)) != nil
            }
        }
        guard ok, setting[0] != 0, setting[0] != CChar(UInt8(ascii: "*")) else { throw Failure.cryptFailed }
        let settingString = String(decoding: setting.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let out = hash(password, setting: settingString), isWellFormed(out) else { throw Failure.cryptFailed }
        return out
    }

    /// Verifies against `$2a$`/`$2b$`/`$2y$` hashes with a constant-time compare of the crypt output.
    /// False on a malformed hash, a NUL in the password, or any crypt failure; never crashes.
    public static func verify(_ password: String, against hash: String) -> Bool {
        guard isWellFormed(hash), isAcceptable(password) else { return false }
        guard let computed = self.hash(password, setting: hash) else { return false }
        return constantTimeEquals(Array(computed.utf8), Array(hash.utf8))
    }

    /// Burns the same time as a `verify` at `cost` (for unknown users: unknown user and wrong password take equal time).
    public static func dummyVerify(_ password: String, cost: Int = defaultCost) {
        let c = min(max(cost, 4), maxVerifyCost)
        let setting = "$2b$" + (c < 10 ? "0\(c)" : "\(c)") + "$" + dummySalt + dummyDigest
        // Same work as verify: the same hashing and a compare whose result is discarded.
        let phrase = isAcceptable(password) ? password : ""
        if let computed = hash(phrase, setting: setting) {
            _ = constantTimeEquals(Array(computed.utf8), Array(setting.utf8))
        }
    }

    // MARK: - Internals

    /// A published salt (from the crypt_blowfish / libxcrypt test vectors) and a 31-char digest placeholder.
    private static let dummySalt = "CCCCCCCCCCCCCCCCCCCCC."
    private static let dummyDigest = "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"

    private static func isAcceptable(_ password: String) -> Bool {
        let utf8 = password.utf8
        return utf8.count <= maxPasswordBytes && !utf8.contains(0)
    }

    /// `$2a$`/`$2b$`/`$2y$`, two-digit cost in 4...maxVerifyCost, `$`, then 53 characters of bcrypt's base64.
    static func isWellFormed(_ hash: String) -> Bool {
        let b = Array(hash.utf8)
        guard b.count == 60, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"),
            b[2] == UInt8(ascii: "a") || b[2] == UInt8(ascii: "b") || b[2] == UInt8(ascii: "y"),
            b[3] == UInt8(ascii: "$"), b[6] == UInt8(ascii: "$")
        else { return false }
        guard let d1 = digit(b[4]), let d2 = digit(b[5]) else { return false }
        let cost = d1 * 10 + d2
        guard (4...maxVerifyCost).contains(cost) else { return false }
        return b[7...].allSatisfy(isBcryptBase64)
    }

    private static func digit(_ c: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) ? Int(c - UInt8(ascii: "0")) : nil
    }

    private static func isBcryptBase64(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "."), UInt8(ascii: "/"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return false
        }
    }

    /// One `crypt_rn` call (PasswordKDF.crypt: a zeroed `struct crypt_data`, wiped afterwards).
    private static func hash(_ password: String, setting: String) -> String? {
        PasswordKDF.crypt(Array(password.utf8), setting: setting)
    }

    private static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// `SystemRandomNumberGenerator` is the stdlib's CSPRNG (`getrandom(2)` on Linux; it traps rather than fail).
    private static func fillRandom(_ buffer: inout [UInt8]) -> Bool {
        var rng = SystemRandomNumberGenerator()
        for i in buffer.indices { buffer[i] = rng.next() }
        return true
    }

    private static func wipe(_ buffer: inout [UInt8]) {
        buffer.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { secureZero(base, raw.count) }
        }
    }

    private static func secureZero(_ p: UnsafeMutableRawPointer, _ count: Int) {
        explicit_bzero(p, count)
    }
}
