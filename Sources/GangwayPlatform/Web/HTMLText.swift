/// Escaping for the few HTML pages functions write without a template engine (an auto-submitting form, a
/// postMessage page, an error page): swift-mustache imports Foundation, which costs a function ~2.3 ms of cold
/// start and ~50 MB of binary (measured with hyperfine on this machine), so only the login page links it.
public enum HTMLText {
    /// Text or a double-quoted attribute value: `& < > " '` become character references.
    public static func escape(_ text: String) -> String {
        replacing(text, ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"])
    }

    /// A JSON text made safe to sit inside an inline `<script>`: `<`, `>`, `&` and the line separators
    /// U+2028/U+2029 become `\u` escapes, so no value (a caller's `state`, say) can close the script or break it.
    public static func scriptSafeJSON(_ json: String) -> String {
        replacing(json, ["<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u{2028}": "\\u2028", "\u{2029}": "\\u2029"])
    }

    static func replacing(_ text: String, _ table: [Unicode.Scalar: String]) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let replacement = table[scalar] { out += replacement } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
