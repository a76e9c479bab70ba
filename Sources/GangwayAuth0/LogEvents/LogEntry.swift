import FoundationEssentials
import GangwayPlatform
import Logging

/// An Auth0 tenant log event (`s`, `fp`, `fu`, `limit_wc`, `sertft`, …: `LogEventType`). Stored for 30 days
/// under Auth0's field names and echoed as a JSON log line. Never carries a password, secret or token: only ids
/// and a description.
public struct LogEntry: Codable, Sendable, Equatable {
    public var logId: String
    public var date: Date
    public var type: LogEventType
    public var description: String
    public var clientId: String?
    public var userId: String?
    public var userName: String?
    public var connection: String?
    public var ip: String?
    public var details: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case logId = "log_id"
        case date, type, description
        case clientId = "client_id"
        case userId = "user_id"
        case userName = "user_name"
        case connection, ip, details
    }

    public init(
        type: LogEventType, description: String, clientId: String? = nil, userId: String? = nil, userName: String? = nil,
        connection: String? = nil, ip: String? = nil, details: [String: JSONValue]? = nil, date: Date = .now
    ) {
        // Time-ordered ids: listing the store prefix returns events oldest first.
        let millis = Int64(date.timeIntervalSince1970 * 1000)
        let digits = String(millis)
        self.logId = String(repeating: "0", count: max(0, 14 - digits.count)) + digits + "-" + Random.identifier(length: 8)
        self.date = date
        self.type = type
        self.description = description
        self.clientId = clientId
        self.userId = userId
        self.userName = userName
        self.connection = connection
        self.ip = ip
        self.details = details
    }
}

/// Writes a tenant's log events.
public struct TenantLog: Sendable {
    public let store: any KeyValueStore
    public let tenant: Tenant
    public let logger: Logger
    public static let retention: Duration = .seconds(30 * 86_400)

    public init(store: any KeyValueStore, tenant: Tenant, logger: Logger) {
        self.store = store
        self.tenant = tenant
        self.logger = logger
    }

    /// Records the event; a failure to store it is logged, never turned into a failed request.
    public func record(_ event: LogEntry) async {
        announce(event)
        do {
            try await store.putJSON(StoreKeys.log(tenant.id, event.logId), event, ttl: Self.retention)
        } catch {
            logger.error("could not store log entry", metadata: ["error": .string(String(describing: error))])
        }
        await count(event)
    }

    /// The event's write, for a caller that commits it in the same batch as what the event is about (one
    /// transaction instead of two); nil when the event also counts towards the migration report (its counters
    /// are read-modify-writes of their own): then `record` it. After the batch commits, `announce` it.
    public func operation(for event: LogEntry) throws -> StoreOperation? {
        guard MigrationCounters.counts(for: event).isEmpty else { return nil }
        return try .putJSON(StoreKeys.log(tenant.id, event.logId), event, ttl: Self.retention)
    }

    /// The event's line in the function's own log (stderr, CloudWatch).
    public func announce(_ event: LogEntry) {
        var metadata: Logger.Metadata = ["log_type": .string(event.type.rawValue), "tenant": .string(tenant.id)]
        if let client = event.clientId { metadata["client_id"] = .string(client) }
        if let user = event.userId { metadata["user_id"] = .string(user) }
        if let connection = event.connection { metadata["connection"] = .string(connection) }
        logger.info("\(event.description)", metadata: metadata)
    }

    private func count(_ event: LogEntry) async {
        // The migration report counts its events as they happen (nothing for an event that is not about it).
        for (kind, amount) in MigrationCounters.counts(for: event) {
            do {
                try await MigrationCounters.add(amount, to: kind, store: store, tenant: tenant, on: event.date)
            } catch {
                logger.error(
                    "could not count a migration event", metadata: ["kind": .string(kind), "error": .string(String(describing: error))])
            }
        }
    }

    public func events(after: String? = nil, limit: Int = 100) async throws -> [LogEntry] {
        try await store.listValues(
            LogEntry.self, prefix: StoreKeys.logs(tenant.id), after: after.map { StoreKeys.log(tenant.id, $0) }, limit: limit)
    }
}
