import FoundationEssentials
import GangwayPlatform

/// Secrets stored inside connection options are write-only: responses never carry them.
public enum SecretRedaction {
    /// Option keys (at any depth) whose values are never returned.
    public static let secretKeys: Set<String> = ["client_secret", "secret", "password"]

    /// `options` without any secret-named key, at any depth (objects inside arrays too).
    public static func redacted(_ options: [String: JSONValue]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (key, value) in options where !secretKeys.contains(key.lowercased()) {
            out[key] = redacted(value)
        }
        return out
    }

    public static func redacted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o): .object(redacted(o))
        case .array(let a): .array(a.map(redacted))
        default: value
        }
    }
}
