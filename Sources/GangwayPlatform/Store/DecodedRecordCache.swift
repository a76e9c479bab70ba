import FoundationEssentials
import Synchronization

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
        let value = try StoreEntry(key: key, record: record).decoded(type)
        DecodedRecordCache.entries.withLock { entries in
            if entries.count >= DecodedRecordCache.capacity { entries.removeAll(keepingCapacity: true) }
            entries[cacheKey] = DecodedRecordCache.Entry(bytes: record.value, decoded: value)
        }
        return (value, record.version)
    }
}
