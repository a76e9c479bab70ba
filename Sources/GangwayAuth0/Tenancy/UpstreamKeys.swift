import FoundationEssentials
import GangwayPlatform

/// The old tenant's signing public keys, imported when a migration starts, so that the tokens it issued before the
/// cutover keep verifying until they expire. Gangway holds no private part and never signs with them. Until the
/// transition deadline they are published in the JWKS beside Gangway's own keys and trusted at `/userinfo` only
/// (never by the Management API); after it they are as unknown as any other key, and the store drops the record.
public struct UpstreamKeys: Codable, Sendable, Equatable {
    public var keys: [JWK]
    /// Where they were read from (a JWKS URL or a file), for `gangway keys list`.
    public var source: String
    public var importedAt: Date
    /// When the keys stop being published and trusted.
    public var deadline: Date

    public init(keys: [JWK], source: String, importedAt: Date = .now, deadline: Date) {
        self.keys = keys
        self.source = source
        self.importedAt = importedAt
        self.deadline = deadline
    }

    /// Auth0's default access-token lifetime (`token_lifetime` of an API that never set one): the default window
    /// when no API of the tenant says longer.
    public static let defaultLifetime = 86_400

    /// The keys still open at `now`: all of them before the deadline, none after.
    public func open(at now: Date = .now) -> [JWK] { now < deadline ? keys : [] }

    /// Why a JWKS cannot be imported.
    public struct Rejected: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The RS256 signing keys of a JWKS document. Every key must be an RSA key Gangway can parse (`use` `sig` and
    /// `alg` `RS256` where present); a kid that one of the tenant's own keys has is refused, since a kid must name
    /// one key in the published set.
    public static func parse(jwks body: [UInt8], ownKids: Set<String>) throws(Rejected) -> [JWK] {
        guard let document = try? JSON.decode(JSONValue.self, from: Data(body)), let entries = document["keys"]?.arrayValue else {
            throw Rejected(description: "not a JWKS document: expected {\"keys\": [...]}")
        }
        var keys: [JWK] = []
        for (index, entry) in entries.enumerated() {
            func field(_ name: String) -> String? { entry[name]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
            guard field("kty") == "RSA", let kid = field("kid"), let n = field("n"), let e = field("e") else {
                throw Rejected(description: "keys[\(index)] is not an RSA key with kid, n and e")
            }
            guard (field("use") ?? "sig") == "sig", (field("alg") ?? "RS256") == "RS256" else {
                throw Rejected(description: "keys[\(index)] (\(kid)) is not an RS256 signing key")
            }
            let jwk = JWK(kid: kid, n: n, e: e)
            guard (try? RSAKey(jwk: jwk)) != nil else {
                throw Rejected(description: "keys[\(index)] (\(kid)) is not a usable RSA public key")
            }
            guard !ownKids.contains(kid) else { throw Rejected(description: "keys[\(index)]: kid \(kid) is one of this tenant's own keys") }
            guard !keys.contains(where: { $0.kid == kid }) else { throw Rejected(description: "keys[\(index)]: kid \(kid) appears twice") }
            keys.append(jwk)
        }
        guard !keys.isEmpty else { throw Rejected(description: "the JWKS has no keys") }
        return keys
    }

    /// The default deadline: the longest access-token lifetime among the tenant's APIs (copied from the old tenant by
    /// a migration), at least Auth0's default, after `now`. A token the old tenant issued just before the cutover
    /// lives at most that long.
    public static func defaultDeadline(_ store: any KeyValueStore, tenant: Tenant, now: Date = .now) async throws -> Date {
        let apis = try await ResourceServers(store: store, tenant: tenant).all()
        let longest = apis.compactMap(\.tokenLifetime).max() ?? 0
        return now.addingTimeInterval(Double(max(longest, defaultLifetime)))
    }

    /// Where the old tenant publishes its keys: `https://<domain>/.well-known/jwks.json` (a loopback `http://` URL for
    /// a local fake), nil when `domain` is not a host.
    public static func jwksURL(domain: String) -> String? {
        MigrationSource.normalizedDomain(domain).map { MigrationSource.baseURL($0) + "/.well-known/jwks.json" }
    }

    /// Reads the old tenant's JWKS over `client`: the body of a 200 answer.
    public static func fetch(_ url: String, client: UpstreamClient = UpstreamClient()) throws(Rejected) -> [UInt8] {
        let response: UpstreamResponse
        do {
            response = try client.get(url: url, headers: [("Accept", "application/json")])
        } catch {
            throw Rejected(description: "\(url): \(error.message)")
        }
        guard response.status == 200 else { throw Rejected(description: "\(url) answered \(response.status)") }
        return response.body
    }

    /// `parse(jwks:ownKids:)` against the tenant's own signing keys as stored.
    public static func parse(jwks body: [UInt8], store: any KeyValueStore, tenant: Tenant) async throws -> [JWK] {
        let own = try await store.getJSON(SigningKeySet.self, StoreKeys.signingKeys(tenant.id))?.0 ?? SigningKeySet()
        return try parse(jwks: body, ownKids: Set(own.keys.map(\.kid)))
    }

    /// Stores parsed keys as the tenant's upstream keys (replacing any earlier import), open until `deadline` (by
    /// default `defaultDeadline`).
    @discardableResult
    public static func importKeys(
        _ keys: [JWK], source: String, deadline: Date? = nil, store: any KeyValueStore, tenant: Tenant, now: Date = .now
    ) async throws -> UpstreamKeys {
        var until = deadline
        if until == nil { until = try await defaultDeadline(store, tenant: tenant, now: now) }
        let record = UpstreamKeys(keys: keys, source: source, importedAt: now, deadline: until ?? now)
        try await record.save(store, tenant: tenant, now: now)
        return record
    }

    /// The tenant's record, if one is stored (expired or not).
    public static func load(_ store: any KeyValueStore, tenant: Tenant) async throws -> UpstreamKeys? {
        try await store.getJSON(UpstreamKeys.self, StoreKeys.upstreamKeys(tenant.id))?.0
    }

    /// Stores the record; the store forgets it a day after its deadline (kept that long so `gangway keys list`
    /// can still say it closed).
    public func save(_ store: any KeyValueStore, tenant: Tenant, now: Date = .now) async throws {
        let ttl = max(deadline.timeIntervalSince(now), 0) + 86_400
        try await store.putJSON(StoreKeys.upstreamKeys(tenant.id), self, ttl: .seconds(ttl))
    }
}
