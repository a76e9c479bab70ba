import COpenSSL
import FoundationEssentials

/// Message digests and HMAC chosen by OpenSSL name at run time ("sha256", "SHA-512", "RSA-SHA1", "md4", "whirlpool"…),
/// for password hashes made elsewhere. Every function answers nil rather than fail loudly: an unknown name, an
/// extendable-output digest (SHAKE) or a library failure is "cannot compute", which a verifier treats as "no match".
///
/// MD4, whirlpool, MDC2 (and RIPEMD-160 on OpenSSL before 3.0.7) live in OpenSSL 3's *legacy* provider. It is loaded
/// once, lazily, the first time a name OpenSSL knows cannot be fetched from the providers already loaded; "default" is
/// loaded with it (an explicit load turns off the implicit one). When the legacy provider cannot be loaded (a build
/// without `ossl-modules/legacy.so`), those digests stay unavailable and everything over them answers nil.
///
/// With the static `libcrypto.a` the module is looked for in the directory compiled into that archive
/// (`/usr/lib/x86_64-linux-gnu/ossl-modules` on Debian) unless `OPENSSL_MODULES` names another, and Debian's
/// `legacy.so` brings in the shared `libcrypto.so.3` as its own dependency (checked: it works beside the static copy).
public enum MessageDigest {
    /// The digest's output size in bytes, or nil when OpenSSL cannot compute it (unknown, XOF, provider missing).
    public static func size(_ name: String) -> Int? {
        withDigest(name) { md, _ in Int(EVP_MD_get_size(md)) }
    }

    /// OpenSSL's own name for the digest (e.g. "SHA256" for "RSA-SHA256"), or nil as for `size`.
    public static func canonicalName(_ name: String) -> String? {
        withDigest(name) { _, canonical in canonical }
    }

    /// The digest of `data`.
    public static func hash(_ name: String, _ data: [UInt8]) -> [UInt8]? {
        withDigest(name) { md, _ -> [UInt8]? in
            var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var outLength: UInt32 = 0
            let ok = withNonNullBytes(data) { d, count in EVP_Digest(d, count, &out, &outLength, md, nil) == 1 }
            return ok ? Array(out.prefix(Int(outLength))) : nil
        } ?? nil
    }

    /// HMAC (RFC 2104) of `data` under `key` with the named digest. An empty key is allowed (HMAC pads it).
    public static func hmac(_ name: String, key: [UInt8], data: [UInt8]) -> [UInt8]? {
        withDigest(name) { md, canonical -> [UInt8]? in
            let size = Int(EVP_MD_get_size(md))
            var out = [UInt8](repeating: 0, count: size)
            var outLength = 0
            let result = withNonNullBytes(key) { k, keyCount in
                withNonNullBytes(data) { d, dataCount in
                    EVP_Q_mac(nil, "HMAC", nil, canonical, nil, k, keyCount, d, dataCount, &out, size, &outLength)
                }
            }
            return result != nil && outLength == size ? out : nil
        } ?? nil
    }

    // MARK: - Fetching

    /// Runs `body` with a fetched digest and its canonical name; the digest is freed afterwards.
    /// Names are resolved through OpenSSL's object table first, so aliases ("RSA-SHA256", "sha256WithRSAEncryption",
    /// "ssl3-md5") reach the provider under the name it registers.
    static func withDigest<T>(_ name: String, _ body: (OpaquePointer, String) -> T) -> T? {
        guard !name.isEmpty, name.utf8.count <= 64, !name.utf8.contains(0) else { return nil }
        let known = EVP_get_digestbyname(name)
        let lookup = known.flatMap { EVP_MD_get0_name($0) }.map { String(cString: $0) } ?? name
        var md = EVP_MD_fetch(nil, lookup, nil)
        // Only a name OpenSSL knows (but no loaded provider implements) pulls in the legacy provider.
        if md == nil, known != nil, LegacyProvider.isLoaded {
            ERR_clear_error()
            md = EVP_MD_fetch(nil, lookup, nil)
        }
        guard let md else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_MD_free(md) }
        // Extendable-output functions (SHAKE) have no fixed size: not a password digest.
        guard EVP_MD_get_size(md) > 0, EVP_MD_get_flags(md) & UInt(EVP_MD_FLAG_XOF) == 0 else { return nil }
        let canonical = EVP_MD_get0_name(md).map { String(cString: $0) } ?? lookup
        return body(md, canonical)
    }
}

/// Calls `body` with a pointer to `bytes` that is never null, and their count: OpenSSL and libargon2 reject some null
/// inputs even at length zero (an empty password or key is still a value).
func withNonNullBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
    let storage = bytes.isEmpty ? [0] : bytes
    return storage.withUnsafeBufferPointer { buffer in
        // A non-empty array always has storage.
        guard let base = buffer.baseAddress else { preconditionFailure("non-empty array without storage") }
        return body(base, bytes.count)
    }
}

/// OpenSSL 3's legacy provider (MD4, whirlpool, MDC2, …), loaded at most once per process.
public enum LegacyProvider {
    /// True once "default" and "legacy" are both loaded. The first read loads them; a failure is remembered (the
    /// module is a file on disk: it does not appear later). The providers are never unloaded.
    public static var isLoaded: Bool { loaded }

    private static let loaded: Bool = {
        // Loading any provider explicitly stops OpenSSL loading "default" implicitly: keep it.
        guard OSSL_PROVIDER_load(nil, "default") != nil, OSSL_PROVIDER_load(nil, "legacy") != nil else {
            ERR_clear_error()
            return false
        }
        return true
    }()
}
