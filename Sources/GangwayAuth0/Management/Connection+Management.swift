import FoundationEssentials
import GangwayPlatform

extension Connection {
    /// The connection as Auth0's Management API returns it; secrets inside `options` are left out.
    public func managementJSON(enabledClients: [String]) -> JSONValue {
        [
            "id": .string(id), "name": .string(name), "display_name": .string(name), "strategy": .string(strategy.rawValue),
            "options": .object(SecretRedaction.redacted(options)),
            "enabled_clients": .array(enabledClients.map(JSONValue.string)),
            "realms": [.string(name)], "is_domain_connection": false,
        ]
    }
}
