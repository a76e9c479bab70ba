import CArgon2
import CCrypt
import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Password-based key derivation on the system libraries, for verifying hashes made elsewhere: PBKDF2 and scrypt on
/// OpenSSL, Argon2 on the reference libargon2, bcrypt on libxcrypt. Inputs are raw bytes (the caller chose the text
/// encoding); every function answers nil or false on a parameter the library refuses or any library failure.
///
/// These functions do not cap their work: a caller verifying an untrusted hash checks its parameters first.
public enum PasswordKDF {
    /// PBKDF2-HMAC (RFC 8018 §5.2) with the named digest (any name `MessageDigest` resolves; MD4 and whirlpool need
    /// OpenSSL's legacy provider). `length` is the derived key's size in bytes.
    public static func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int, digest: String, length: Int) -> [UInt8]? {
        guard (1...Int(Int32.max)).contains(iterations), (1...Int(Int32.max)).contains(length),
            password.count <= Int(Int32.max), salt.count <= Int(Int32.max)
        else { return nil }
        return MessageDigest.withDigest(digest) { md, _ -> [UInt8]? in
            var out = [UInt8](repeating: 0, count: length)
            let ok = withNonNullBytes(password) { p, passwordCount in
                withNonNullBytes(salt) { s, saltCount in
                    p.withMemoryRebound(to: CChar.self, capacity: max(passwordCount, 1)) { pc in
                        PKCS5_PBKDF2_HMAC(pc, Int32(passwordCount), s, Int32(saltCount), Int32(iterations), md, Int32(length), &out)
                    }
                }
            }
            guard ok == 1 else {
                ERR_clear_error()
                return nil
            }
            return out
        } ?? nil
    }

    /// scrypt (RFC 7914) with cost `n` (a power of two above 1), block size `r` and parallelization `p`.
    /// OpenSSL is told exactly the memory this needs (128·r·(n + p + 2) bytes, see its `EVP_PBE_scrypt`), so the
    /// caller's cap on n·r·p is the only limit.
    public static func scrypt(password: [UInt8], salt: [UInt8], n: Int, r: Int, p: Int, length: Int) -> [UInt8]? {
        guard n > 1, n & (n - 1) == 0, r >= 1, p >= 1, length >= 1 else { return nil }
        let (rn, o1) = r.multipliedReportingOverflow(by: n + p + 2)
        let (memory, o2) = rn.multipliedReportingOverflow(by: 128)
        guard !o1, !o2 else { return nil }
        var out = [UInt8](repeating: 0, count: length)
        let ok = withNonNullBytes(password) { pw, passwordCount in
            withNonNullBytes(salt) { s, saltCount in
                pw.withMemoryRebound(to: CChar.self, capacity: max(passwordCount, 1)) { pc in
                    EVP_PBE_scrypt(
                        pc, passwordCount, s, saltCount, UInt64(n), UInt64(r), UInt64(p), UInt64(memory) + 65536, &out, length)
                }
            }
        }
        guard ok == 1 else {
            ERR_clear_error()
            return nil
        }
        return out
    }

    /// The three Argon2 variants (RFC 9106), named as in their PHC strings.
    public enum Argon2Variant: String, Sendable, CaseIterable {
        case argon2d, argon2i, argon2id

        var type: argon2_type {
            switch self {
            case .argon2d: Argon2_d
            case .argon2i: Argon2_i
            case .argon2id: Argon2_id
            }
        }
    }

    /// True when `password` matches the Argon2 PHC string `encoded` (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    /// libargon2 decodes the string, recomputes the hash with the same parameters and compares in constant time.
    /// Its memory (m KiB) and time are the string's: check them before calling with an untrusted string.
    public static func argon2Verify(_ encoded: String, password: [UInt8], variant: Argon2Variant) -> Bool {
        guard !encoded.utf8.contains(0) else { return false }
        let result = withNonNullBytes(password) { p, count in
            argon2_verify(encoded, UnsafeRawPointer(p), count, variant.type)
        }
        return result == ARGON2_OK.rawValue
    }

    /// libxcrypt's `crypt_rn` of `phrase` under `setting` (for bcrypt, the whole `$2b$10$…` hash): the full hash string,
    /// or nil when libxcrypt refuses (a NUL in the phrase, a phrase of 512 bytes or more, a malformed setting).
    /// The caller compares the result with the stored hash in constant time.
    public static func crypt(_ phrase: [UInt8], setting: String) -> String? {
        guard !phrase.contains(0), phrase.count < Int(CRYPT_MAX_PASSPHRASE_SIZE), !setting.utf8.contains(0) else { return nil }
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            explicit_bzero(data, size)
            data.deallocate()
        }
        var cString = phrase.map { CChar(bitPattern: $0) }
        cString.append(0)
        defer { cString.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        return setting.withCString { settingPointer in
            guard let out = crypt_rn(cString, settingPointer, data, Int32(size)) else { return nil }
            // libxcrypt's failure token starts with '*'.
            guard out[0] != 0, out[0] != CChar(UInt8(ascii: "*")) else { return nil }
            return String(cString: out)
        }
    }
}
