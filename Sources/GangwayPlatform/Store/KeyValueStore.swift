import FoundationEssentials
import Synchronization

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

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable { case unavailable, corrupt, invalidKey, invalidURL, unsupported }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "StoreError.\(code): \(message)" }
}

/// A small async key-value interface (like Hummingbird's PersistDriver) every backend implements.
///
/// Semantics shared by all backends:
/// - keys are non-empty UTF-8 strings of at most 512 bytes without NUL (else `StoreError(.invalidKey)`);
///   keys are compared and ordered by their UTF-8 bytes (not by Swift's Unicode-canonical `String ==`);
/// - an expired record (expiresAt <= now) behaves exactly like an absent one, so re-creating it starts at version 1;
/// - every write is atomic, also across processes sharing one store.
public protocol KeyValueStore: Sendable {
    func get(_ key: String) async throws -> StoreRecord?
    /// Unconditional write; returns the new version (1 for a new key, previous+1 otherwise).
    @discardableResult func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64
    /// Writes only if the key is absent (an expired record counts as absent). True if this call wrote it (version 1).
    func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool
    /// Writes only if the current version equals `expectedVersion`; returns the new version, or nil if it did not match (or key absent/expired).
    func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64?
    /// Deletes; with expectedVersion only if it matches. True if something was deleted.
    @discardableResult func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool
    /// Entries whose key starts with prefix, in ascending key (byte) order, strictly after `after` if given, at most `limit`. Expired entries omitted.
    func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry]
    /// Deletes expired records for good (they are already invisible); returns how many. Run it periodically:
    /// refresh tokens and log events expire by the thousand (`gangway store purge`).
    func purgeExpired() async throws -> Int
}

// MARK: - Conveniences

extension KeyValueStore {
    @discardableResult public func put(_ key: String, _ value: Data) async throws -> Int64 {
        try await put(key, value, ttl: nil)
    }

    public func insertIfAbsent(_ key: String, _ value: Data) async throws -> Bool {
        try await insertIfAbsent(key, value, ttl: nil)
    }

    public func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data) async throws -> Int64? {
        try await compareAndSwap(key, expectedVersion: expectedVersion, value, ttl: nil)
    }

    @discardableResult public func delete(_ key: String) async throws -> Bool {
        try await delete(key, expectedVersion: nil)
    }

    public func list(prefix: String) async throws -> [StoreEntry] {
        try await list(prefix: prefix, after: nil, limit: 1000)
    }

    public func list(prefix: String, after: String?) async throws -> [StoreEntry] {
        try await list(prefix: prefix, after: after, limit: 1000)
    }

    public func list(prefix: String, limit: Int) async throws -> [StoreEntry] {
        try await list(prefix: prefix, after: nil, limit: limit)
    }

    // MARK: Typed JSON helpers (encoded with `JSON.encode`: sorted keys, stable bytes)

    /// The decoded value and its version, or nil if absent/expired. A value that does not decode throws `.corrupt`.
    public func getJSON<T: Decodable>(_ type: T.Type, _ key: String) async throws -> (T, Int64)? {
        guard let record = try await get(key) else { return nil }
        do {
            return (try JSON.decode(type, from: record.value), record.version)
        } catch {
            throw StoreError(.corrupt, "value at \(key) does not decode as \(T.self): \(error)")
        }
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
}

// MARK: - Opening by URL

public enum Store {
    /// Opens a store from a URL:
    /// `sqlite:///abs/path.db`, `sqlite:relative/path.db`, `file:///abs/dir`, `file:relative/dir`,
    /// `postgres://user:password@host:port/db[?schema=NAME&…]` (or `postgresql://`).
    public static func open(url: String) throws -> any KeyValueStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return try PostgresStore(url: url) }
        if let path = try path(of: url, scheme: "sqlite") { return try SQLiteStore(path: path) }
        if let path = try path(of: url, scheme: "file") { return try FileStore(directory: path) }
        throw StoreError(.invalidURL, "unknown store URL '\(url)' (expected sqlite:, file: or postgres:)")
    }

    /// The filesystem path of `scheme:///abs` or `scheme:relative`, nil if the scheme differs.
    static func path(of url: String, scheme: String) throws -> String? {
        guard url.hasPrefix(scheme + ":") else { return nil }
        var rest = Substring(url.dropFirst(scheme.count + 1))
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            // Only an empty authority (or "localhost") is allowed: sqlite:///abs/path.
            if rest.hasPrefix("localhost/") { rest = rest.dropFirst("localhost".count) }
            guard rest.hasPrefix("/") else {
                throw StoreError(.invalidURL, "\(url): expected \(scheme):///absolute/path or \(scheme):relative/path")
            }
        }
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<q] }
        let path = try percentDecode(rest, url: url)
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw StoreError(.invalidURL, "\(url): empty path")
        }
        return path
    }

    private static func percentDecode(_ s: Substring, url: String) throws -> String {
        guard let decoded = String(s).percentDecoded() else {
            throw StoreError(.invalidURL, "\(url): bad percent-encoding or a path that is not UTF-8")
        }
        return decoded
    }
}

// MARK: - Shared helpers for backends

enum StoreSupport {
    static let maxKeyBytes = 512

    static func validate(_ key: String) throws {
        let n = key.utf8.count
        guard n > 0 else { throw StoreError(.invalidKey, "key is empty") }
        guard n <= maxKeyBytes else { throw StoreError(.invalidKey, "key is \(n) bytes (max \(maxKeyBytes))") }
        guard !key.utf8.contains(0) else { throw StoreError(.invalidKey, "key contains NUL") }
    }

    /// Wall-clock now in unix milliseconds (the resolution expiry is stored with).
    static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Absolute expiry in unix ms for a ttl measured from now (nil ttl = never expires).
    static func expiry(_ ttl: Duration?, now: Int64) -> Int64? {
        guard let ttl else { return nil }
        let (seconds, attoseconds) = ttl.components
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        guard !ms.overflow else { return seconds > 0 ? Int64.max : now }
        let total = ms.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !total.overflow else { return Int64.max }
        let at = now.addingReportingOverflow(total.partialValue)
        return at.overflow ? (total.partialValue > 0 ? Int64.max : Int64.min) : at.partialValue
    }

    static func isExpired(_ expiresAt: Int64?, now: Int64) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }

    static func date(_ millis: Int64?) -> Date? {
        millis.map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// Byte-wise (UTF-8) ordering, the order `list` returns.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func sameBytes(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    static func hasPrefix(_ key: String, _ prefix: String) -> Bool {
        key.utf8.starts(with: prefix.utf8)
    }
}

// MARK: - Decoded-record cache

/// Decoded values of small, rarely-changing records (tenant and domain entries, applications, signing key
/// sets, users), kept per process by store key together with the exact bytes they were decoded from. Every
/// read still goes to the store, so a change (a key rotation, a blocked user) takes effect on the next request;
/// only the JSON decoding is skipped when the stored bytes are unchanged. Bounded: cleared when full.
enum DecodedRecordCache {
    struct Key: Hashable {
        let type: ObjectIdentifier
        let key: String
    }
    struct Entry: @unchecked Sendable {
        let bytes: Data
        let decoded: Any
    }
    static let capacity = 512
    static let entries = Mutex<[Key: Entry]>([:])
}

extension KeyValueStore {
    /// `getJSON`, reusing the value decoded earlier in this process when the stored bytes are the same.
    /// For immutable value types only (`T` is copied out of the cache, never shared mutably).
    public func getCachedJSON<T: Decodable & Sendable>(_ type: T.Type, _ key: String) async throws -> (T, Int64)? {
        guard let record = try await get(key) else { return nil }
        let cacheKey = DecodedRecordCache.Key(type: ObjectIdentifier(type), key: key)
        if let hit = DecodedRecordCache.entries.withLock({ $0[cacheKey] }), hit.bytes == record.value, let value = hit.decoded as? T {
            return (value, record.version)
        }
        let value: T
        do {
            value = try JSON.decode(type, from: record.value)
        } catch {
            throw StoreError(.corrupt, "value at \(key) does not decode as \(T.self): \(error)")
        }
        DecodedRecordCache.entries.withLock { entries in
            if entries.count >= DecodedRecordCache.capacity { entries.removeAll(keepingCapacity: true) }
            entries[cacheKey] = DecodedRecordCache.Entry(bytes: record.value, decoded: value)
        }
        return (value, record.version)
    }
}
