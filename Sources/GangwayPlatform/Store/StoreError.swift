import FoundationEssentials

/// Why a store operation failed, classified by a typed code (never by message text).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable {
        /// The backend cannot be reached or failed (I/O, a lost connection, a SQL error).
        case unavailable
        /// The backend is locked by another writer for longer than it waits (SQLITE_BUSY, SQLITE_LOCKED).
        case busy
        /// A stored value or file is damaged, or does not decode as the type asked for.
        case corrupt
        /// A key that breaks the key rules (empty, over 512 bytes, NUL).
        case invalidKey
        case invalidURL
        /// A schema version or value this build does not support.
        case unsupported
        /// A compare-and-swap kept losing to other writers (`KeyValueStore.update`).
        case contention
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "StoreError.\(code): \(message)" }
}
