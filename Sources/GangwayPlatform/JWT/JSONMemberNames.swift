import FoundationEssentials

/// Finds a member name that repeats within one JSON object, at any depth.
///
/// A JOSE header or JWT claims set with a duplicate member name must be rejected (RFC 7515 §5.2, RFC 7519 §7.2):
/// two parsers that each keep a different one of the values disagree about what was signed. `JSONDecoder`
/// silently keeps one, and no JSON library here reports duplicates, so this small scanner is hand-written. It
/// only walks the structure (strings, objects, arrays); whether the text is valid JSON is `JSONDecoder`'s job,
/// which runs next. Names are compared after unescaping (`"a"` and `"\u0061"` are the same name).
enum JSONMemberNames {
    static func hasDuplicate(in json: [UInt8]) -> Bool {
        /// One open container: an object's names so far and whether the next string is a name; nil for an array.
        var objects: [(names: Set<[UInt8]>, expectingName: Bool)?] = []
        var i = 0
        let n = json.count
        while i < n {
            let byte = json[i]
            switch byte {
            case UInt8(ascii: "{"):
                objects.append((names: [], expectingName: true))
            case UInt8(ascii: "["):
                objects.append(nil)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !objects.isEmpty { objects.removeLast() }
            case UInt8(ascii: ","):
                if let top = objects.last, var object = top {
                    object.expectingName = true
                    objects[objects.count - 1] = object
                }
            case UInt8(ascii: "\""):
                let start = i
                var escaped = false
                i += 1
                while i < n && json[i] != UInt8(ascii: "\"") {
                    if json[i] == UInt8(ascii: "\\") {
                        escaped = true
                        i += 1
                    }
                    i += 1
                }
                guard i < n else { return false }  // unterminated: JSONDecoder rejects it next
                if let top = objects.last, var object = top, object.expectingName {
                    let raw = Array(json[start...i])
                    let name = escaped ? unescaped(raw) : raw
                    guard let name else { return false }  // not a string after all: JSONDecoder rejects it next
                    guard object.names.insert(name).inserted else { return true }
                    object.expectingName = false
                    objects[objects.count - 1] = object
                }
            default:
                break
            }
            i += 1
        }
        return false
    }

    /// The UTF-8 of a quoted JSON string with escapes, decoded by `JSONDecoder`; nil if it is not a string.
    private static func unescaped(_ quoted: [UInt8]) -> [UInt8]? {
        (try? JSONDecoder().decode(String.self, from: Data(quoted))).map { Array($0.utf8) }
    }
}
