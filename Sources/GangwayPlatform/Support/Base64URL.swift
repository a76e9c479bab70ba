import FoundationEssentials

/// Base64url (RFC 4648 §5) without padding, as used by JWS/JWK.
public enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 255 marks an invalid character.
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Encodes bytes as unpadded base64url.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        if let s = bytes.withContiguousStorageIfAvailable({ encode(buffer: $0) }) { return s }
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { encode(buffer: $0) }
    }

    /// Encodes the UTF-8 bytes of a string.
    public static func encode(_ string: String) -> String {
        encode(Array(string.utf8))
    }

    private static func encode(buffer input: UnsafeBufferPointer<UInt8>) -> String {
        let n = input.count
        let outCount = (n / 3) * 4 + [0, 2, 3][n % 3]
        if outCount == 0 { return "" }
        return alphabet.withUnsafeBufferPointer { a in
            String(unsafeUninitializedCapacity: outCount) { out in
                var i = 0
                var o = 0
                while i + 3 <= n {
                    let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int((v >> 12) & 63)]
                    out[o + 2] = a[Int((v >> 6) & 63)]
                    out[o + 3] = a[Int(v & 63)]
                    i += 3
                    o += 4
                }
                switch n - i {
                case 1:
                    let v = UInt32(input[i]) << 16
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int((v >> 12) & 63)]
                    o += 2
                case 2:
                    let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int((v >> 12) & 63)]
                    out[o + 2] = a[Int((v >> 6) & 63)]
                    o += 3
                default: break
                }
                return o
            }
        }
    }

    /// Strict decoding: only the base64url alphabet; padding optional (but, if present, exactly right);
    /// unused trailing bits must be zero (so each byte string has exactly one accepted encoding).
    public static func decode(_ s: String) -> [UInt8]? {
        var s = s
        return s.withUTF8 { decode(utf8: $0) }
    }

    /// The only spelling JOSE allows (RFC 7515 §2, RFC 7518 §6.3): no padding, zero trailing bits. A JWS part
    /// or JWK member in any other spelling is rejected, so each value has exactly one accepted encoding.
    public static func decodeCanonical(utf8 input: some Collection<UInt8>) -> [UInt8]? {
        guard !input.contains(UInt8(ascii: "=")) else { return nil }
        return decode(utf8: input)
    }

    public static func decodeCanonical(_ s: String) -> [UInt8]? { decodeCanonical(utf8: s.utf8) }

    /// Same as `decode(_:)`, over raw UTF-8 bytes.
    public static func decode(utf8 input: some Collection<UInt8>) -> [UInt8]? {
        if let r = input.withContiguousStorageIfAvailable({ decode(utf8: $0) }) { return r }
        return Array(input).withUnsafeBufferPointer { decode(utf8: $0) }
    }

    static func decode(utf8 raw: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var n = raw.count
        // Optional padding: only when the whole length is a multiple of 4, at most two '='.
        if n > 0, raw[n - 1] == UInt8(ascii: "=") {
            guard n % 4 == 0 else { return nil }
            n -= 1
            if raw[n - 1] == UInt8(ascii: "=") { n -= 1 }
            guard n % 4 != 0, n % 4 != 1 else { return nil }
        }
        if n % 4 == 1 { return nil }
        let full = n / 4
        let rem = n % 4
        let outCount = full * 3 + (rem == 0 ? 0 : rem - 1)
        var ok = true
        let result = reverse.withUnsafeBufferPointer { r -> [UInt8] in
            [UInt8](unsafeUninitializedCapacity: outCount) { out, count in
                var i = 0
                var o = 0
                for _ in 0..<full {
                    let a = r[Int(raw[i])]
                    let b = r[Int(raw[i + 1])]
                    let c = r[Int(raw[i + 2])]
                    let d = r[Int(raw[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 {
                        ok = false
                        count = 0
                        return
                    }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    o += 3
                }
                if rem == 2 {
                    let a = r[Int(raw[i])]
                    let b = r[Int(raw[i + 1])]
                    if (a | b) & 0xC0 != 0 || b & 0x0F != 0 {
                        ok = false
                        count = 0
                        return
                    }
                    out[o] = a << 2 | b >> 4
                    o += 1
                } else if rem == 3 {
                    let a = r[Int(raw[i])]
                    let b = r[Int(raw[i + 1])]
                    let c = r[Int(raw[i + 2])]
                    if (a | b | c) & 0xC0 != 0 || c & 0x03 != 0 {
                        ok = false
                        count = 0
                        return
                    }
                    out[o] = a << 2 | b >> 4
                    out[o + 1] = (b & 0x0F) << 4 | c >> 2
                    o += 2
                }
                count = o
            }
        }
        return ok ? result : nil
    }
}
