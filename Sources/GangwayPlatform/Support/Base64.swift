import FoundationEssentials

/// Base64 text (RFC 4648 §4 and §5) as other systems write it, for decoding hashes and salts they exported.
/// Unlike `Base64URL` (JOSE's one spelling), this accepts what Node's `Buffer.from(s, "base64")` producers emit: the
/// standard or the URL-safe alphabet (even mixed), padding or none, and non-zero unused trailing bits.
public enum Base64 {
    public enum Alphabet: Sendable {
        /// `+/` or `-_` for the last two digits; `=` padding optional (but exact when present).
        case standardOrURL
        /// PHC string B64: the standard alphabet only, never padded.
        case phc
    }

    /// The bytes, or nil on any other character, a wrong padding or an impossible length (4k+1 digits).
    public static func decode(_ text: String, _ alphabet: Alphabet = .standardOrURL) -> [UInt8]? {
        var digits = Array(text.utf8)
        if alphabet == .standardOrURL, digits.last == UInt8(ascii: "=") {
            guard digits.count % 4 == 0 else { return nil }
            digits.removeLast()
            if digits.last == UInt8(ascii: "=") { digits.removeLast() }
            guard digits.count % 4 >= 2 else { return nil }
        }
        guard digits.count % 4 != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(digits.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in digits {
            guard let v = value(c, alphabet) else { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }

    private static func value(_ c: UInt8, _ alphabet: Alphabet) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        case UInt8(ascii: "-") where alphabet == .standardOrURL: 62
        case UInt8(ascii: "_") where alphabet == .standardOrURL: 63
        default: nil
        }
    }
}

/// Hexadecimal text, either case.
public enum Hex {
    /// The bytes, or nil on an odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
