/// Escaping for the few HTML pages functions write without a template engine (an auto-submitting form, a
/// postMessage page, an error page): swift-mustache imports Foundation, which costs a function ~2.3 ms of cold
/// start and ~50 MB of binary (measured with hyperfine on this machine), so only the login page links it.
public enum HTMLText {
    /// Text or a double-quoted attribute value: `& < > " '` become character references.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A JSON text made safe to sit inside an inline `<script>`: `<`, `>`, `&` and the line separators
    /// U+2028/U+2029 become `\u` escapes, so no value (a caller's `state`, say) can close the script or break it.
    public static func scriptSafeJSON(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            switch scalar {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
