import Foundation
import GangwayAuth0
import Testing

/// A real gateway with its tenant, and a way to mint tokens for it with `gangway jwt sign`.
final class ManagedTenant {
    let scratch = Scratch()
    let gateway: GatewayProcess
    let issuer: String
    let tenant: InitResult

    init(mode: String = "warm") throws {
        gateway = try GatewayProcess(store: scratch.store, mode: mode)
        issuer = gateway.base + "/"
        tenant = try initTenant(store: scratch.store, issuer: issuer)
    }

    var managementAudience: String { issuer + "api/v2/" }
    var m2mClient: String { tenant.management.client_id }

    /// Signs claims with a tenant's current key (`typ` at+jwt for access tokens, JWT for ID tokens).
    func sign(_ claims: [String: JSONValue], type: String = "at+jwt", tenant issuerOfTenant: String? = nil) throws -> String {
        let result = try gangway([
            "jwt", "sign", "--store", scratch.store, "--tenant", issuerOfTenant ?? issuer, "--type", type,
            "--claims", try JSON.string(JSONValue.object(claims)),
        ])
        #expect(result.status == 0, "\(result.stderr)")
        return result.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A client-credentials style Management API token with `scope`.
    func managementToken(_ scope: String, type: String = "at+jwt", extra: [String: JSONValue] = [:]) throws -> String {
        var claims: [String: JSONValue] = [
            "sub": .string(m2mClient + "@clients"), "aud": .string(managementAudience), "scope": .string(scope),
            "azp": .string(m2mClient), "gty": "client-credentials",
        ]
        claims.merge(extra) { _, new in new }
        return try sign(claims, type: type)
    }

    static let allScopes = "read:users create:users update:users delete:users read:connections update:connections read:logs"

    struct Answer {
        var status: Int
        var headers: [String: String]
        var raw: String
        var json: JSONValue
        var object: [String: JSONValue] { json.objectValue ?? [:] }
        var array: [JSONValue] { json.arrayValue ?? [] }
    }

    /// One request through the gateway; the body (if any) is sent as JSON.
    func call(_ method: String, _ path: String, token: String?, body: JSONValue? = nil, headers: [(String, String)] = []) throws -> Answer {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        var bytes: [UInt8]?
        if let body {
            all.append(("Content-Type", "application/json"))
            bytes = Array(try JSON.encode(body))
        }
        let response = try gateway.request(method, path, headers: all, body: bytes)
        let raw = String(decoding: response.body, as: UTF8.self)
        let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body))) ?? .null
        return Answer(status: response.status, headers: response.headers, raw: raw, json: json)
    }

    /// Creates a user through the API (create:users) and returns its JSON.
    @discardableResult
    func createUser(_ fields: [String: JSONValue], token: String) throws -> [String: JSONValue] {
        var body: [String: JSONValue] = ["connection": .string(Connection.defaultName), "password": "Corr3ct-Horse!"]
        body.merge(fields) { _, new in new }
        let answer = try call("POST", "/api/v2/users", token: token, body: .object(body))
        #expect(answer.status == 201, "\(answer.raw)")
        return answer.object
    }
}

/// `auth0|abc` → `auth0%7Cabc`, as Auth0's SDKs put ids in paths.
func pathEscaped(_ id: String) -> String {
    id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? id
}

/// `2024-01-02T03:04:05.678Z`: what auth0-python's date parsing expects.
func isAuth0Timestamp(_ value: JSONValue?) -> Bool {
    guard let s = value?.stringValue else { return false }
    let c = Array(s)
    return c.count == 24 && c[4] == "-" && c[10] == "T" && c[19] == "." && c[23] == "Z"
}
