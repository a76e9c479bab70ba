import FoundationEssentials

/// Rules and helpers every backend shares.
enum StoreSupport {
    static let maxKeyBytes = 512

    static func validate(_ key: String) throws {
        let n = key.utf8.count
        guard n > 0 else { throw StoreError(.invalidKey, "key is empty") }
        guard n <= maxKeyBytes else { throw StoreError(.invalidKey, "key is \(n) bytes (max \(maxKeyBytes))") }
        guard !key.utf8.contains(0) else { throw StoreError(.invalidKey, "key contains NUL") }
    }

    static func validate(_ keys: [String]) throws {
        for key in keys { try validate(key) }
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
