import FoundationEssentials

/// One stored value with its version (1 on creation, +1 on every write) and optional absolute expiry.
public struct StoreRecord: Sendable, Equatable {
    public var value: Data
    public var version: Int64
    public var expiresAt: Date?

    public init(value: Data, version: Int64, expiresAt: Date? = nil) {
        self.value = value
        self.version = version
        self.expiresAt = expiresAt
    }
}

public struct StoreEntry: Sendable, Equatable {
    public var key: String
    public var record: StoreRecord

    public init(key: String, record: StoreRecord) {
        self.key = key
        self.record = record
    }
}
