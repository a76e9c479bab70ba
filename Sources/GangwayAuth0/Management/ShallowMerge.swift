import FoundationEssentials
import GangwayPlatform

/// Shallow merge as Auth0 does for `user_metadata`/`app_metadata` (and Gangway for connection `options`):
/// top-level keys replace, a `null` value deletes the key.
public func shallowMerge(_ base: [String: JSONValue], _ patch: [String: JSONValue]) -> [String: JSONValue] {
    var result = base
    for (key, value) in patch {
        if value.isNull { result[key] = nil } else { result[key] = value }
    }
    return result
}
