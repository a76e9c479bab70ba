import COpenSSL
import FoundationEssentials
import Synchronization

/// A failure inside OpenSSL while creating, loading or using an RSA key.
public struct RSAKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "RSAKeyError: \(message)" }

    /// Builds an error from `context` plus the top of OpenSSL's error queue (which it then clears).
    static func openssl(_ context: String) -> RSAKeyError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return RSAKeyError(context) }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        let detail = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return RSAKeyError("\(context): \(detail)")
    }
}

/// A small pool of pre-initialised EVP_PKEY_CTX objects for one operation, so that each signature or
/// verification is a single EVP_PKEY_sign/verify call with no algorithm fetching, and concurrent callers
/// never share a context.
private final class PKeyContextPool: @unchecked Sendable {
    /// An owned EVP_PKEY_CTX*, only ever used by one thread at a time (whoever took it from the pool).
    private struct Context: @unchecked Sendable { let pointer: OpaquePointer }

    private let free = Mutex<[Context]>([])
    private let make: @Sendable () -> OpaquePointer?
    private let maxIdle: Int

    init(maxIdle: Int = 16, make: @escaping @Sendable () -> OpaquePointer?) {
        self.make = make
        self.maxIdle = maxIdle
    }

    func withContext<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        let ctx: Context
        if let c = free.withLock({ $0.popLast() }) {
            ctx = c
        } else if let c = make() {
            ctx = Context(pointer: c)
        } else {
            throw RSAKeyError.openssl("cannot initialise EVP_PKEY_CTX")
        }
        defer {
            let maxIdle = self.maxIdle
            let extra: Context? = free.withLock { list in
                if list.count < maxIdle {
                    list.append(ctx)
                    return nil
                }
                return ctx
            }
            if let extra { EVP_PKEY_CTX_free(extra.pointer) }
        }
        return try body(ctx.pointer)
    }

    deinit {
        for ctx in free.withLock({ $0 }) { EVP_PKEY_CTX_free(ctx.pointer) }
    }
}

/// The key's EVP_PKEY*, immutable and safe to share (each EVP_PKEY_CTX up-refs it).
private struct SharedPKey: @unchecked Sendable { let pointer: OpaquePointer }

/// An RSA key (private, or public only) held as an OpenSSL EVP_PKEY, used for RS256.
public final class RSAKey: @unchecked Sendable {
    /// The EVP_PKEY; immutable after init, freed in deinit.
    private let pkey: OpaquePointer
    /// Whether the key has its private half (can sign and export a private PEM).
    public let isPrivate: Bool
    private let signPool: PKeyContextPool
    private let verifyPool: PKeyContextPool

    /// Minimum modulus size accepted anywhere (generation, PEM, JWK).
    public static let minimumBits = 2048

    /// Takes ownership of `pkey`.
    private init(owning pkey: OpaquePointer, isPrivate: Bool) throws {
        guard EVP_PKEY_is_a(pkey, "RSA") == 1 else {
            EVP_PKEY_free(pkey)
            throw RSAKeyError("not an RSA key")
        }
        let bits = Int(EVP_PKEY_get_bits(pkey))
        guard bits >= RSAKey.minimumBits && bits <= 16384 else {
            EVP_PKEY_free(pkey)
            throw RSAKeyError("RSA key size \(bits) bits is not allowed (minimum \(RSAKey.minimumBits))")
        }
        self.pkey = pkey
        self.isPrivate = isPrivate
        let shared = SharedPKey(pointer: pkey)
        self.signPool = PKeyContextPool { rs256Context(shared, EVP_PKEY_sign_init) }
        self.verifyPool = PKeyContextPool { rs256Context(shared, EVP_PKEY_verify_init) }
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// Generates a fresh RSA key pair (public exponent 65537).
    public static func generate(bits: Int = 2048) throws -> RSAKey {
        guard bits >= minimumBits && bits <= 16384 else { throw RSAKeyError("RSA key size \(bits) bits is not allowed") }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw RSAKeyError.openssl("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else {
            throw RSAKeyError.openssl("RSA keygen init")
        }
        var out: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &out) == 1, let pkey = out else { throw RSAKeyError.openssl("RSA keygen") }
        return try RSAKey(owning: pkey, isPrivate: true)
    }

    /// Loads a private key from PEM (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"; never prompts for a password).
    public convenience init(privateKeyPEM: String) throws {
        // Naming the input (PEM, RSA, PKCS#8) spares OpenSSL its search through every decoder it has, which
        // cost more than a signature; PKCS#1 "RSA PRIVATE KEY" falls back to the general reader.
        let pkey: OpaquePointer? = RSAKey.withMemBIO(privateKeyPEM) { bio in
            guard privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----") else {
                return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
            }
            // The decoder keeps the address it writes the key to, and its type names, until
            // OSSL_DECODER_from_bio returns: the slot and the strings must outlive both calls, which an
            // inout `&out` or a Swift string argument would not (hence StaticString).
            let slot = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 1)
            slot.initialize(to: nil)
            defer { slot.deallocate() }
            guard
                let decoder = OSSL_DECODER_CTX_new_for_pkey(
                    slot, RSAKey.cString("PEM"), RSAKey.cString("PrivateKeyInfo"), RSAKey.cString("RSA"), gangway_evp_pkey_keypair(), nil,
                    nil
                )
            else {
                return nil
            }
            defer { OSSL_DECODER_CTX_free(decoder) }
            return OSSL_DECODER_from_bio(decoder, bio) == 1 ? slot.pointee : nil
        }
        guard let pkey else { throw RSAKeyError.openssl("cannot read RSA private key PEM") }
        try self.init(owning: pkey, isPrivate: true)
    }

    /// Loads a public key from PEM ("PUBLIC KEY", SubjectPublicKeyInfo).
    public convenience init(publicKeyPEM: String) throws {
        let pkey: OpaquePointer? = RSAKey.withMemBIO(publicKeyPEM) { bio in
            PEM_read_bio_PUBKEY(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let pkey else { throw RSAKeyError.openssl("cannot read RSA public key PEM") }
        try self.init(owning: pkey, isPrivate: false)
    }

    /// Builds a public-only key from a JWK's `n` and `e` (kty must be RSA; alg, if set, RS256; use, if set, sig).
    public convenience init(jwk: JWK) throws {
        guard jwk.kty == "RSA" else { throw RSAKeyError("JWK kty must be RSA") }
        guard jwk.alg.isEmpty || jwk.alg == "RS256" else { throw RSAKeyError("JWK alg must be RS256") }
        guard jwk.use.isEmpty || jwk.use == "sig" else { throw RSAKeyError("JWK use must be sig") }
        guard let nBytes = Base64URL.decodeCanonical(jwk.n), !nBytes.isEmpty,
            let eBytes = Base64URL.decodeCanonical(jwk.e), !eBytes.isEmpty, eBytes.count <= 8
        else { throw RSAKeyError("JWK n/e are not valid base64url") }

        guard let n = BN_bin2bn(nBytes, Int32(nBytes.count), nil) else { throw RSAKeyError.openssl("BN_bin2bn") }
        defer { BN_free(n) }
        guard let e = BN_bin2bn(eBytes, Int32(eBytes.count), nil) else { throw RSAKeyError.openssl("BN_bin2bn") }
        defer { BN_free(e) }
        guard BN_is_odd(e) == 1, BN_is_one(e) == 0 else { throw RSAKeyError("JWK exponent is invalid") }

        guard let bld = OSSL_PARAM_BLD_new() else { throw RSAKeyError.openssl("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(bld) }
        // OSSL_PARAM_BLD keeps the key-name pointers until to_param, so they must be static C strings.
        guard OSSL_PARAM_BLD_push_BN(bld, RSAKey.cString("n"), n) == 1,
            OSSL_PARAM_BLD_push_BN(bld, RSAKey.cString("e"), e) == 1,
            let params = OSSL_PARAM_BLD_to_param(bld)
        else { throw RSAKeyError.openssl("OSSL_PARAM_BLD") }
        defer { OSSL_PARAM_free(params) }

        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw RSAKeyError.openssl("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var out: OpaquePointer? = nil
        // EVP_PKEY_PUBLIC_KEY = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY (0x86).
        let selection: Int32 = 0x04 | 0x80 | 0x02
        guard EVP_PKEY_fromdata_init(ctx) == 1, EVP_PKEY_fromdata(ctx, &out, selection, params) == 1, let pkey = out else {
            throw RSAKeyError.openssl("EVP_PKEY_fromdata")
        }
        try self.init(owning: pkey, isPrivate: false)
    }

    /// Modulus size in bits.
    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// Signature size in bytes.
    public var signatureSize: Int { Int(EVP_PKEY_get_size(pkey)) }

    /// The private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"); empty for a public-only key.
    public var privateKeyPEM: String {
        guard isPrivate else { return "" }
        return RSAKey.pemString { bio in PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) }
    }

    /// The public key as SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
    public var publicKeyPEM: String {
        RSAKey.pemString { bio in PEM_write_bio_PUBKEY(bio, pkey) }
    }

    /// The public half as a JWK (kty RSA, use sig, alg RS256).
    public func publicJWK(kid: String) -> JWK {
        JWK(kid: kid, n: Base64URL.encode(bigNumParam("n")), e: Base64URL.encode(bigNumParam("e")))
    }

    private func bigNumParam(_ name: String) -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else {
            ERR_clear_error()
            return []
        }
        defer { BN_free(bn) }
        let count = (Int(BN_num_bits(bn)) + 7) / 8
        return [UInt8](unsafeUninitializedCapacity: count) { buf, written in
            written = Int(BN_bn2bin(bn, buf.baseAddress))
        }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message` (hashes, then one EVP_PKEY_sign on a pooled context).
    public func signRS256(_ message: some Sequence<UInt8>) throws -> [UInt8] {
        guard isPrivate else { throw RSAKeyError("cannot sign with a public key") }
        let digest = Digest.sha256(message)
        let size = signatureSize
        return try signPool.withContext { ctx in
            var sigLen = size
            var sig = [UInt8](repeating: 0, count: size)
            let r = sig.withUnsafeMutableBufferPointer { s in
                digest.withUnsafeBufferPointer { d in
                    EVP_PKEY_sign(ctx, s.baseAddress, &sigLen, d.baseAddress, d.count)
                }
            }
            guard r == 1 else { throw RSAKeyError.openssl("EVP_PKEY_sign") }
            if sigLen != size { sig.removeLast(size - sigLen) }
            return sig
        }
    }

    /// Verifies an RS256 signature over `message`. Any failure (including a wrong-length signature) is false.
    public func verifyRS256(signature: some Sequence<UInt8>, message: some Sequence<UInt8>) -> Bool {
        let sig = Array(signature)
        guard sig.count == signatureSize else { return false }
        let digest = Digest.sha256(message)
        let ok =
            (try? verifyPool.withContext { ctx in
                sig.withUnsafeBufferPointer { s in
                    digest.withUnsafeBufferPointer { d in
                        EVP_PKEY_verify(ctx, s.baseAddress, s.count, d.baseAddress, d.count) == 1
                    }
                }
            }) ?? false
        if !ok { ERR_clear_error() }
        return ok
    }

    // MARK: - Helpers

    private static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    private static func withMemBIO<R>(_ text: String, _ body: (OpaquePointer) -> R?) -> R? {
        var bytes = Array(text.utf8)
        bytes.append(0)
        return bytes.withUnsafeBytes { raw -> R? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count - 1)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    private static func pemString(_ write: (OpaquePointer) -> Int32) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else {
            ERR_clear_error()
            return ""
        }
        var ptr: UnsafeMutablePointer<CChar>? = nil
        let bioControlInfo: Int32 = 3  // BIO_CTRL_INFO: BIO_get_mem_data is a macro Swift cannot import
        let len = BIO_ctrl(bio, bioControlInfo, 0, &ptr)
        guard len > 0, let ptr else { return "" }
        return ptr.withMemoryRebound(to: UInt8.self, capacity: Int(len)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(len)), as: UTF8.self)
        }
    }
}

/// A context for RS256 (PKCS#1 v1.5 padding, SHA-256) on `shared`, set up by `operationInit` (sign or verify);
/// nil when OpenSSL refuses.
private func rs256Context(_ shared: SharedPKey, _ operationInit: (OpaquePointer?) -> Int32) -> OpaquePointer? {
    guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, shared.pointer, nil) else { return nil }
    guard operationInit(ctx) == 1,
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1,
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1
    else {
        EVP_PKEY_CTX_free(ctx)
        return nil
    }
    return ctx
}
