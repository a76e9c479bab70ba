import Foundation
import GangwayAuth0
import Synchronization
import Testing

@testable import token

/// The calls that reach a real store, in order: what a request costs in round trips (each is one on PostgreSQL).
final class StoreTrips: KeyValueStore {
    enum Trip: Equatable {
        case read([String])
        case write([String])
    }
    let base: any KeyValueStore
    let trips = Mutex<[Trip]>([])
    init(_ base: any KeyValueStore) { self.base = base }

    private func note(_ trip: Trip) { trips.withLock { $0.append(trip) } }
    var reads: [[String]] { trips.withLock { $0.compactMap { if case .read(let keys) = $0 { keys } else { nil } } } }
    var writes: [[String]] { trips.withLock { $0.compactMap { if case .write(let keys) = $0 { keys } else { nil } } } }

    func get(_ key: String) async throws -> StoreRecord? {
        note(.read([key]))
        return try await base.get(key)
    }
    func get(many keys: [String]) async throws -> [StoreRecord?] {
        note(.read(keys))
        return try await base.get(many: keys)
    }
    func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 {
        note(.write([key]))
        return try await base.put(key, value, ttl: ttl)
    }
    func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
        note(.write([key]))
        return try await base.insertIfAbsent(key, value, ttl: ttl)
    }
    func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
        note(.write([key]))
        return try await base.compareAndSwap(key, expectedVersion: expectedVersion, value, ttl: ttl)
    }
    func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
        note(.write([key]))
        return try await base.delete(key, expectedVersion: expectedVersion)
    }
    func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
        note(.read([prefix + "*"]))
        return try await base.list(prefix: prefix, after: after, limit: limit)
    }
    func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
        note(.write(operations.map(\.key)))
        return try await base.commit(operations)
    }
    func purgeExpired() async throws -> Int { try await base.purgeExpired() }
}

@Suite("What a request costs the store")
struct StoreTripsTests {
    /// A new user's password login with `offline_access`: the application's credentials and the refresh token.
    static func login(_ env: InProcessTenant, _ email: String) async throws -> (credentials: [String: JSONValue], refresh: String) {
        _ = try await env.createUser(email, password: "Corr3ct-Horse!")
        let app = env.provisioned.app
        let credentials: [String: JSONValue] = ["client_id": .string(app.clientId), "client_secret": .string(app.clientSecret ?? "")]
        let login = try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: .object(
                credentials.merging([
                    "grant_type": "password", "username": .string(email), "password": "Corr3ct-Horse!", "scope": "openid offline_access",
                ]) { a, _ in a })
        )
        return (credentials, try #require(login.object["refresh_token"]?.stringValue, "\(login.body)"))
    }

    @Test(
        "a refresh grant reads in two trips (host, tenant, keys, application and token; then family and user) and writes once (the rotation with its log event)"
    )
    func refreshGrantTrips() async throws {
        let env = try await InProcessTenant()
        let app = env.provisioned.app
        let (credentials, first) = try await Self.login(env, "trips@example.com")
        var refresh = first
        let tenant = env.tenant.id
        for round in 1...2 {
            let trips = StoreTrips(env.store)
            let answer = try await env.call(
                TokenFunction(), "POST", "/oauth/token",
                json: .object(credentials.merging(["grant_type": "refresh_token", "refresh_token": .string(refresh)]) { a, _ in a }),
                through: trips)
            #expect(answer.status == 200 && answer.object["id_token"] != nil, "round \(round): \(answer.body)")
            let reads = trips.reads
            #expect(reads.count == 2, "round \(round): \(reads)")
            #expect(
                reads.first?.contains(StoreKeys.tenant(tenant)) == true
                    && reads.first?.contains(StoreKeys.application(tenant, app.clientId)) == true)
            #expect(reads.last?.contains { $0.hasPrefix("t/\(tenant)/users/") } == true)
            let writes = trips.writes
            #expect(writes.count == 1, "round \(round): \(writes)")
            // The batch holds the new token, the rotated one and the success event, which the tenant log then shows.
            let logKeys = writes.first?.filter { $0.hasPrefix(StoreKeys.logs(tenant)) } ?? []
            #expect(writes.first?.count == 3 && logKeys.count == 1)
            let events = try await TenantLog(store: env.store, tenant: env.tenant, logger: Log.logger("test")).events(limit: 100)
            #expect(events.contains { StoreKeys.log(tenant, $0.logId) == logKeys.first && $0.type == .successRefreshTokenExchange })
            refresh = try #require(answer.object["refresh_token"]?.stringValue)
        }
    }

    @Test("a refresh grant refused for its scope writes nothing but its failure event")
    func refusedRefreshGrantWritesItsFailureOnly() async throws {
        let env = try await InProcessTenant()
        let (credentials, refresh) = try await Self.login(env, "narrow@example.com")
        let trips = StoreTrips(env.store)
        let wider = try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: .object(
                credentials.merging([
                    "grant_type": "refresh_token", "refresh_token": .string(refresh), "scope": "openid email offline_access",
                ]) {
                    a, _ in a
                }),
            through: trips)
        #expect(wider.status == 400 && wider.object["error"] == "invalid_scope", "\(wider.body)")
        #expect(trips.writes.count == 1 && trips.writes.first?.allSatisfy { $0.hasPrefix(StoreKeys.logs(env.tenant.id)) } == true)
        // The token was not rotated: it still works.
        let again = try await env.call(
            TokenFunction(), "POST", "/oauth/token",
            json: .object(credentials.merging(["grant_type": "refresh_token", "refresh_token": .string(refresh)]) { a, _ in a }))
        #expect(again.status == 200, "\(again.body)")
    }
}
