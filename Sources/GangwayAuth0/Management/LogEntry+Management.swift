import FoundationEssentials
import GangwayPlatform

extension LogEntry {
    /// A log event as Auth0's `GET /api/v2/logs` returns it.
    public var managementJSON: JSONValue {
        var out: [String: JSONValue] = [
            "log_id": .string(logId), "date": .string(ManagementDate.string(date)), "type": .string(type.rawValue),
            "description": .string(description),
        ]
        out["client_id"] = clientId.map(JSONValue.string)
        out["user_id"] = userId.map(JSONValue.string)
        out["user_name"] = userName.map(JSONValue.string)
        out["connection"] = connection.map(JSONValue.string)
        out["ip"] = ip.map(JSONValue.string)
        out["details"] = details.map(JSONValue.object)
        return .object(out)
    }
}
