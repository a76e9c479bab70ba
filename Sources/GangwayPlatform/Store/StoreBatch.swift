import FoundationEssentials

/// One conditional write of an atomic batch (`KeyValueStore.commit`). The conditions mean what the single
/// operations of the same name mean: an expired record counts as absent.
public enum StoreOperation: Sendable, Equatable {
    /// Writes version 1; the batch fails unless the key is absent.
    case insertIfAbsent(String, Data, ttl: Duration?)
    /// Writes `expectedVersion + 1`; the batch fails unless the live version is `expectedVersion`.
    case compareAndSwap(String, expectedVersion: Int64, Data, ttl: Duration?)
    /// Writes unconditionally (version previous+1, or 1).
    case put(String, Data, ttl: Duration?)
    /// Deletes; with an expected version the batch fails unless the live version is that one. Without one it
    /// never fails (an absent key stays absent).
    case delete(String, expectedVersion: Int64?)

    public var key: String {
        switch self {
        case .insertIfAbsent(let key, _, _), .compareAndSwap(let key, _, _, _), .put(let key, _, _), .delete(let key, _): key
        }
    }
}

/// What a batch did: everything, or nothing because one condition did not hold.
public enum StoreBatchOutcome: Sendable, Equatable {
    /// Every operation happened; per operation (in the order given) the version written, nil for a delete.
    case committed([Int64?])
    /// Nothing was written: the condition of `operations[index]` (on `key`) did not hold. Only the first
    /// failing condition is reported.
    case conditionFailed(index: Int, key: String)

    public var committed: Bool {
        if case .committed = self { return true }
        return false
    }

    /// The key whose condition failed, nil when committed.
    public var failedKey: String? {
        if case .conditionFailed(_, let key) = self { return key }
        return nil
    }
}

extension StoreSupport {
    /// Every key valid and no key twice (each operation must see the state before the batch): checked before
    /// anything is written, so one bad key fails the whole batch with `StoreError(.invalidKey)`.
    static func validate(_ operations: [StoreOperation]) throws {
        var seen = Set<[UInt8]>()
        for operation in operations {
            try validate(operation.key)
            guard seen.insert(Array(operation.key.utf8)).inserted else {
                throw StoreError(.invalidKey, "key appears twice in one batch: \(operation.key)")
            }
        }
    }
}

// Typed JSON operations, encoded with `JSON.encode` as `putJSON` and friends do.
extension StoreOperation {
    public static func insertJSON<T: Encodable>(_ key: String, _ value: T, ttl: Duration? = nil) throws -> StoreOperation {
        .insertIfAbsent(key, try JSON.encode(value), ttl: ttl)
    }

    public static func compareAndSwapJSON<T: Encodable>(
        _ key: String, expectedVersion: Int64, _ value: T, ttl: Duration? = nil
    ) throws -> StoreOperation {
        .compareAndSwap(key, expectedVersion: expectedVersion, try JSON.encode(value), ttl: ttl)
    }

    public static func putJSON<T: Encodable>(_ key: String, _ value: T, ttl: Duration? = nil) throws -> StoreOperation {
        .put(key, try JSON.encode(value), ttl: ttl)
    }
}
