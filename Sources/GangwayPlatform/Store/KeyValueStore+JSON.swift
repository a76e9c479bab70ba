import FoundationEssentials

// Typed JSON values in the store, encoded with `JSON.encode` (sorted keys, stable bytes).
extension KeyValueStore {
    /// The decoded value and its version, or nil if absent/expired. A value that does not decode throws `.corrupt`.
    public func getJSON<T: Decodable>(_ type: T.Type, _ key: String) async throws -> (T, Int64)? {
        guard let record = try await get(key) else { return nil }
        return (try StoreEntry(key: key, record: record).decoded(type), record.version)
    }

    @discardableResult
    public func putJSON<T: Encodable>(_ key: String, _ value: T, ttl: Duration? = nil) async throws -> Int64 {
        try await put(key, try JSON.encode(value), ttl: ttl)
    }

    public func insertJSONIfAbsent<T: Encodable>(_ key: String, _ value: T, ttl: Duration? = nil) async throws -> Bool {
        try await insertIfAbsent(key, try JSON.encode(value), ttl: ttl)
    }

    public func compareAndSwapJSON<T: Encodable>(
        _ key: String, expectedVersion: Int64, _ value: T, ttl: Duration? = nil
    ) async throws -> Int64? {
        try await compareAndSwap(key, expectedVersion: expectedVersion, try JSON.encode(value), ttl: ttl)
    }

    /// Every record under `prefix` decoded as `T`, in key order, with its key and version. A record that does
    /// not decode throws `.corrupt` naming its key, as `getJSON` does: a damaged record is reported, never
    /// silently left out of a listing (where it would look deleted).
    public func listJSON<T: Decodable>(
        _ type: T.Type, prefix: String, after: String? = nil, limit: Int = 1000
    ) async throws -> [StoredValue<T>] {
        try await list(prefix: prefix, after: after, limit: limit).map { entry in
            StoredValue(key: entry.key, value: try entry.decoded(type), version: entry.record.version)
        }
    }

    /// Just the decoded values of `listJSON`.
    public func listValues<T: Decodable>(_ type: T.Type, prefix: String, after: String? = nil, limit: Int = 1000) async throws -> [T] {
        try await listJSON(type, prefix: prefix, after: after, limit: limit).map(\.value)
    }

    /// Every record under `prefix`, decoded, however many there are (pages of 1000 through `listJSON`).
    public func listAllJSON<T: Decodable>(_ type: T.Type, prefix: String) async throws -> [StoredValue<T>] {
        var values: [StoredValue<T>] = []
        while true {
            let page = try await listJSON(type, prefix: prefix, after: values.last?.key, limit: 1000)
            values += page
            if page.count < 1000 { return values }
        }
    }

    /// Read-modify-write of one JSON record under optimistic concurrency: reads the value (nil when absent),
    /// lets `change` edit it, and writes it back with compare-and-swap (insert-if-absent when it was absent;
    /// a delete when `change` sets it to nil). When another writer got there first it re-reads and runs `change`
    /// again, so `change` must be free of side effects outside its argument. Nothing is written when the value
    /// was absent and stays nil. `ttl` computes each write's lifetime from the value written.
    /// Throws `StoreError(.contention)` after `StoreContention.attempts` lost races.
    @discardableResult
    public func update<T: Codable, R>(
        _ type: T.Type, at key: String, ttl: (T) -> Duration? = { _ in nil },
        _ change: (inout T?) async throws -> R
    ) async throws -> R {
        for _ in 0..<StoreContention.attempts {
            let current = try await getJSON(type, key)
            var value = current?.0
            let result = try await change(&value)
            let written: Bool
            switch (current, value) {
            case (nil, nil): return result
            case (nil, let new?): written = try await insertJSONIfAbsent(key, new, ttl: ttl(new))
            case ((_, let version)?, nil): written = try await delete(key, expectedVersion: version)
            case ((_, let version)?, let new?):
                written = try await compareAndSwapJSON(key, expectedVersion: version, new, ttl: ttl(new)) != nil
            }
            if written { return result }
        }
        throw StoreError(.contention, "\(key) kept changing under \(StoreContention.attempts) attempts")
    }
}

extension StoreEntry {
    /// The entry's value decoded as `T`; `.corrupt`, naming the key, when it does not decode.
    public func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSON.decode(type, from: record.value)
        } catch {
            throw StoreError(.corrupt, "value at \(key) does not decode as \(T.self): \(error)")
        }
    }
}

/// One decoded record of a listing.
public struct StoredValue<T> {
    public var key: String
    public var value: T
    public var version: Int64
}

extension StoredValue: Sendable where T: Sendable {}

/// How many times a read-modify-write retries against concurrent writers before it gives up: one budget for
/// every record kind (user, tenant, key set, connection, throttle), generous enough for a few dozen writers.
public enum StoreContention {
    public static let attempts = 20
}
