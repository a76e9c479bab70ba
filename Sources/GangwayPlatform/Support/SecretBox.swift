import COpenSSL
import FoundationEssentials

/// Encrypts secrets at rest (upstream client secrets of connections and migration sources) with
/// AES-256-GCM on OpenSSL. The key comes from the environment (`GANGWAY_SECRET_KEY`, 32 bytes as
/// base64url), never from the store, so a copy of the store alone reveals no secret.
///
/// Sealed form: `gw1.` + base64url(nonce ‖ ciphertext ‖ tag). The `context` (e.g. the record's store key
/// and field) is authenticated data: a sealed value moved to another record does not open.
public struct SecretBox: Sendable {
    let key: [UInt8]

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(key: [UInt8]) throws(Failure) {
        guard key.count == 32 else { throw Failure(description: "GANGWAY_SECRET_KEY must be 32 bytes (base64url)") }
        self.key = key
    }

    /// The box configured for this process, or a failure that says what is missing.
    public init(configuration: Configuration) throws(Failure) {
        guard let encoded = configuration.secretKey else {
            throw Failure(description: "No GANGWAY_SECRET_KEY is configured, so secrets cannot be stored.")
        }
        guard let bytes = Base64URL.decode(encoded), let box = try? SecretBox(key: bytes) else {
            throw Failure(description: "GANGWAY_SECRET_KEY is not 32 bytes of base64url.")
        }
        self = box
    }

    /// Names the key without revealing it (a SHA-256 prefix), so a cache of opened values can tell two keys apart.
    public var keyID: String { String(Digest.hex(Digest.sha256(key)).prefix(16)) }

    public static func generateKey() -> String { Base64URL.encode(Random.bytes(32)) }

    public static func isSealed(_ value: String) -> Bool { value.hasPrefix("gw1.") }

    public func seal(_ plaintext: String, context: String) throws(Failure) -> String {
        let nonce = Random.bytes(12)
        let input = Array(plaintext.utf8)
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var tag = [UInt8](repeating: 0, count: 16)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw Failure(description: "cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        var total = 0
        let aad = Array(context.utf8)
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_EncryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
            output.withUnsafeMutableBufferPointer({ EVP_EncryptUpdate(ctx, $0.baseAddress, &length, input, Int32(input.count)) }) == 1
        else { throw Failure(description: "encryption failed") }
        total = Int(length)
        guard output.withUnsafeMutableBufferPointer({ EVP_EncryptFinal_ex(ctx, $0.baseAddress! + total, &length) }) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1
        else { throw Failure(description: "encryption failed") }
        total += Int(length)
        return "gw1." + Base64URL.encode(nonce + output[0..<total] + tag)
    }

    public func open(_ sealed: String, context: String) throws(Failure) -> String {
        guard Self.isSealed(sealed), let raw = Base64URL.decode(String(sealed.dropFirst(4))), raw.count >= 28 else {
            throw Failure(description: "not a sealed secret")
        }
        let nonce = Array(raw[0..<12])
        let body = Array(raw[12..<(raw.count - 16)])
        var tag = Array(raw[(raw.count - 16)...])
        var output = [UInt8](repeating: 0, count: body.count + 16)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw Failure(description: "cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        let aad = Array(context.utf8)
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_DecryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
            output.withUnsafeMutableBufferPointer({ EVP_DecryptUpdate(ctx, $0.baseAddress, &length, body, Int32(body.count)) }) == 1
        else { throw Failure(description: "decryption failed") }
        let total = Int(length)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1,
            output.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(ctx, $0.baseAddress! + total, &length) }) == 1,
            let text = String(validating: output[0..<total], as: UTF8.self)
        else { throw Failure(description: "the secret does not open with this key (wrong key or tampered)") }
        return text
    }
}
