import FoundationEssentials

/// `application/x-www-form-urlencoded` (WHATWG URL standard, "urlencoded serializer/parser"), byte-exact on UTF-8.
///
/// Encoding keeps `A-Z a-z 0-9 * - . _` as is, turns space into `+`, and percent-encodes every other byte
/// (upper-case hex). Decoding turns `+` into space and is strict: a `%` not followed by two hex digits, or
/// a result that is not valid UTF-8, makes the whole body invalid (`nil`) rather than silently guessed.
public enum FormURLEncoding {
    /// Serializes pairs in order, `name=value` joined by `&`.
    public static func encode(_ fields: [(String, String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 })
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            appendEncoded(name, to: &out)
            out.append(UInt8(ascii: "="))
            appendEncoded(value, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes one component (name or value) the form way.
    public static func encodeComponent(_ string: String) -> String {
        var out: [UInt8] = []
        appendEncoded(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a form body into pairs, in order, duplicates kept. Empty segments (`a=1&&b=2`) are skipped;
    /// a segment without `=` is a name with an empty value. Returns nil on a bad `%` escape or invalid UTF-8.
    public static func decode(_ body: String) -> [(String, String)]? {
        var result: [(String, String)] = []
        let bytes = Array(body.utf8)
        for segment in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>
            if let eq = segment.firstIndex(of: UInt8(ascii: "=")) {
                name = segment[segment.startIndex..<eq]
                value = segment[(eq + 1)...]
            } else {
                name = segment
                value = []
            }
            guard let n = decodeComponent(name), let v = decodeComponent(value) else { return nil }
            result.append((n, v))
        }
        return result
    }

    /// Decodes one component: `+` → space, `%XX` → byte; nil on a malformed escape or invalid UTF-8.
    public static func decodeComponent<S: Collection>(_ bytes: S) -> String? where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%") {
                let h1 = bytes.index(after: i)
                guard h1 != bytes.endIndex else { return nil }
                let h2 = bytes.index(after: h1)
                guard h2 != bytes.endIndex, let hi = hexValue(bytes[h1]), let lo = hexValue(bytes[h2]) else { return nil }
                out.append(hi << 4 | lo)
                i = h2
            } else {
                out.append(b)
            }
            i = bytes.index(after: i)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func appendEncoded(_ string: String, to out: inout [UInt8]) {
        for b in string.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.append(b)
            case UInt8(ascii: " "):
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0x0F)])
            }
        }
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
