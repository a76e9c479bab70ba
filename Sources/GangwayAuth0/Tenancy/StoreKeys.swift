import GangwayPlatform
/// Where each model record lives in the key-value store. Everything a tenant owns sits under
/// `t/<tenant id>/`, so one tenant's lookups can never reach another's records.
public enum StoreKeys {
    /// host (with port, lower-case) → tenant id
    public static func domain(_ host: String) -> String { "domains/\(host.lowercased())" }
    public static func tenant(_ id: String) -> String { "tenants/\(id)" }
    public static func signingKeys(_ tenant: String) -> String { "t/\(tenant)/signing-keys" }
    public static func application(_ tenant: String, _ clientId: String) -> String { "t/\(tenant)/applications/\(clientId)" }
    public static func applications(_ tenant: String) -> String { "t/\(tenant)/applications/" }
    public static func connection(_ tenant: String, _ id: String) -> String { "t/\(tenant)/connections/\(id)" }
    public static func connections(_ tenant: String) -> String { "t/\(tenant)/connections/" }
    public static func resourceServer(_ tenant: String, _ identifier: String) -> String { "t/\(tenant)/apis/\(identifier)" }
    public static func clientGrant(_ tenant: String, _ clientId: String, _ audience: String) -> String {
        "t/\(tenant)/client-grants/\(clientId)/\(audience)"
    }
}
