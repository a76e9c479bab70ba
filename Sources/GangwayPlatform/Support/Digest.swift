import COpenSSL
import FoundationEssentials

/// Hashing, HMAC and constant-time comparison on OpenSSL.
public enum Digest {
    /// SHA-256 of `data` (32 bytes).
    public static func sha256(_ data: some Sequence<UInt8>) -> [UInt8] {
        if let r = data.withContiguousStorageIfAvailable({ sha256(buffer: $0) }) { return r }
        return Array(data).withUnsafeBufferPointer { sha256(buffer: $0) }
    }

    /// SHA-256 of the UTF-8 bytes of `string`.
    public static func sha256(_ string: String) -> [UInt8] {
        var s = string
        return s.withUTF8 { sha256(buffer: $0) }
    }

    /// OpenSSL's low-level SHA-256 (`gangway_sha256` in the COpenSSL shim says why not `SHA256()`).
    static func sha256(buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            gangway_sha256(buffer.baseAddress ?? UnsafePointer(out.baseAddress!), buffer.count, out.baseAddress)
            count = 32
        }
    }

    /// Lower-case hex SHA-256 of the UTF-8 bytes of `string`.
    public static func sha256Hex(_ string: String) -> String {
        hex(sha256(string))
    }

    /// Lower-case hex of `bytes`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Constant-time (for equal lengths) comparison; different lengths are simply unequal.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }

    /// HMAC-SHA-256 (32 bytes).
    public static func hmacSHA256(key: some Sequence<UInt8>, data: some Sequence<UInt8>) -> [UInt8] {
        let k = Array(key)
        let d = Array(data)
        return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            var outLen = 0
            let r = k.withUnsafeBytes { kp in
                d.withUnsafeBufferPointer { dp in
                    // Non-null pointers even for empty inputs.
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { dummy in
                        EVP_Q_mac(
                            nil, "HMAC", nil, "SHA256", nil,
                            kp.baseAddress ?? UnsafeRawPointer(dummy.baseAddress!), k.count,
                            dp.baseAddress ?? UnsafePointer(dummy.baseAddress!), d.count,
                            out.baseAddress, 32, &outLen)
                    }
                }
            }
            precondition(r != nil && outLen == 32, "HMAC-SHA256 failed")
            count = 32
        }
    }
}
