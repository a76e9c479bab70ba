import FoundationEssentials
import Glibc
import Synchronization

/// A key-value store in a plain directory: one file per key.
///
/// - File names: `k` + the key's UTF-8 bytes with everything outside `[a-z0-9._-]` percent-encoded
///   (upper-case letters too, so names never differ only by case on case-insensitive filesystems);
///   if that exceeds 200 bytes, `h` + SHA-256 hex of the key. The key itself is always stored in the
///   file header, so hashed names still list correctly.
/// - File content: 25-byte header (magic `GKV1`, version, expiry flag + unix ms, key length) + key + value.
/// - Writes: temp file in the same directory + fsync + rename + directory fsync (atomic, durable).
///   All writers (threads and processes) serialise on an `flock` of `<dir>/.lock`; read-modify-write
///   (put's version bump, insert-if-absent, CAS, conditional delete) happens under that lock.
///   Readers take no lock: rename is atomic, and files are never modified in place.
/// - Batches (`commit`), under the same lock: every condition is checked first (nothing written when one fails);
///   then the post-image of every record (its new bytes and version, or its removal) goes to a journal,
///   `<dir>/.journal`, written like a record (temp file + fsync + rename + directory fsync), and only then are
///   the records written one by one; the journal is removed last. A `kill -9` before the rename leaves a temp
///   file (the batch never happened; `purgeExpired` removes it); after it, the complete journal is replayed — its
///   post-images are absolute, so replaying twice is harmless — by the next writer before it does anything, and
///   by the next reader (which sees the journal and waits for the lock), so nobody reads half a batch after a
///   crash. A journal that does not parse or fails its SHA-256 throws `.corrupt` rather than being dropped.
/// - Names starting with `.` (the lock, the journal, temp files) are never data.
public final class FileStore: KeyValueStore, @unchecked Sendable {
    public let directory: String
    static let maxNameBytes = 200
    private static let magic: [UInt8] = Array("GKV1".utf8)
    private static let headerSize = 4 + 8 + 1 + 8 + 4

    private struct Handles {
        var lockFD: Int32 = -1
        var dirFD: Int32 = -1
    }
    /// Lazily opened lock/directory descriptors; holding this mutex also serialises writers within the
    /// process (flock alone does not: it is per open file description, shared by all our threads).
    private let writer = Mutex(Handles())

    /// Opens the store in `directory`, creating it (and parents) if needed.
    public init(directory: String) throws {
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        try StoreFileSystem.createDirectories(dir)
    }

    deinit {
        writer.withLock { h in
            if h.lockFD >= 0 { close(h.lockFD) }
            if h.dirFD >= 0 { close(h.dirFD) }
        }
    }

    // MARK: KeyValueStore

    public func get(_ key: String) async throws -> StoreRecord? {
        try StoreSupport.validate(key)
        try recoverInterruptedBatch()
        guard let file = try readLive(key, now: StoreSupport.nowMillis()) else { return nil }
        return file.record
    }

    @discardableResult
    public func put(_ key: String, _ value: Data, ttl: Duration?) async throws -> Int64 {
        try StoreSupport.validate(key)
        return try withWriteLock { h, now in
            let version = (try readLive(key, now: now)?.record.version ?? 0) + 1
            try write(key, value, version: version, expiresAt: StoreSupport.expiry(ttl, now: now), dirFD: h.dirFD)
            return version
        }
    }

    public func insertIfAbsent(_ key: String, _ value: Data, ttl: Duration?) async throws -> Bool {
        try StoreSupport.validate(key)
        return try withWriteLock { h, now in
            if try readLive(key, now: now) != nil { return false }
            try write(key, value, version: 1, expiresAt: StoreSupport.expiry(ttl, now: now), dirFD: h.dirFD)
            return true
        }
    }

    public func compareAndSwap(_ key: String, expectedVersion: Int64, _ value: Data, ttl: Duration?) async throws -> Int64? {
        try StoreSupport.validate(key)
        return try withWriteLock { h, now in
            guard try readLive(key, now: now)?.record.version == expectedVersion else { return nil }
            let version = expectedVersion + 1
            try write(key, value, version: version, expiresAt: StoreSupport.expiry(ttl, now: now), dirFD: h.dirFD)
            return version
        }
    }

    @discardableResult
    public func delete(_ key: String, expectedVersion: Int64?) async throws -> Bool {
        try StoreSupport.validate(key)
        return try withWriteLock { h, now in
            let name = Self.fileName(for: key)
            guard let file = try read(name: name) else { return false }
            guard StoreSupport.sameBytes(file.key, key) else { return false }  // (hash collision: not ours)
            let live = !StoreSupport.isExpired(file.expiresAtMillis, now: now)
            if let expectedVersion, !live || file.record.version != expectedVersion { return false }
            try removeFile(name, dirFD: h.dirFD)  // expired files are removed too, but don't count
            return live
        }
    }

    /// Checks every condition, then journals the post-images and writes them (see the type's documentation).
    public func commit(_ operations: [StoreOperation]) async throws -> StoreBatchOutcome {
        try StoreSupport.validate(operations)
        return try withWriteLock { h, now in
            var images: [PostImage] = []
            var versions: [Int64?] = []
            for (index, operation) in operations.enumerated() {
                let found = try readLive(operation.key, now: now)?.record.version
                func failed() -> StoreBatchOutcome { .conditionFailed(index: index, key: operation.key) }
                switch operation {
                case .insertIfAbsent(let key, let value, let ttl):
                    guard found == nil else { return failed() }
                    images.append(PostImage(key: key, value: value, version: 1, expiresAt: StoreSupport.expiry(ttl, now: now)))
                case .compareAndSwap(let key, let expected, let value, let ttl):
                    guard found == expected else { return failed() }
                    images.append(
                        PostImage(key: key, value: value, version: expected + 1, expiresAt: StoreSupport.expiry(ttl, now: now)))
                case .put(let key, let value, let ttl):
                    images.append(
                        PostImage(key: key, value: value, version: (found ?? 0) + 1, expiresAt: StoreSupport.expiry(ttl, now: now)))
                case .delete(let key, let expected):
                    if let expected, found != expected { return failed() }
                    images.append(PostImage(key: key, value: nil, version: 0, expiresAt: nil))
                }
                versions.append(images.last!.value == nil ? nil : images.last!.version)
            }
            if images.isEmpty { return .committed(versions) }
            try writeJournal(images, dirFD: h.dirFD)
            try apply(images, dirFD: h.dirFD)
            try removeFile(Self.journalName, dirFD: h.dirFD)
            return .committed(versions)
        }
    }

    public func list(prefix: String, after: String?, limit: Int) async throws -> [StoreEntry] {
        guard limit > 0 else { return [] }
        try recoverInterruptedBatch()
        let now = StoreSupport.nowMillis()
        // Candidates: keys known from their names, and hashed files (whose key is in the header).
        var candidates: [(key: String, name: String)] = []
        for name in try directoryNames() {
            let key: String
            if name.hasPrefix("k") {
                guard let decoded = Self.decodeName(name) else { continue }
                key = decoded
            } else if name.hasPrefix("h") {
                guard let file = try read(name: name) else { continue }
                key = file.key
            } else {
                continue
            }
            guard StoreSupport.hasPrefix(key, prefix) else { continue }
            if let after, !StoreSupport.precedes(after, key) { continue }
            candidates.append((key, name))
        }
        candidates.sort { StoreSupport.precedes($0.key, $1.key) }
        var entries: [StoreEntry] = []
        for candidate in candidates {
            if entries.count >= limit { break }
            guard let file = try read(name: candidate.name), StoreSupport.sameBytes(file.key, candidate.key),
                !StoreSupport.isExpired(file.expiresAtMillis, now: now)
            else { continue }
            entries.append(StoreEntry(key: candidate.key, record: file.record))
        }
        return entries
    }

    /// Deletes expired files and stale temp files (optional housekeeping). Returns how many records were removed.
    @discardableResult
    public func purgeExpired() throws -> Int {
        try withWriteLock { h, now in
            var removed = 0
            for name in try directoryNames(includeHidden: true) {
                if name.hasPrefix(".tmp.") {
                    // Temp files are only ever live while their writer holds the lock, which we hold now.
                    unlink(path(name))
                } else if name.hasPrefix("k") || name.hasPrefix("h"), let file = try read(name: name),
                    StoreSupport.isExpired(file.expiresAtMillis, now: now)
                {
                    try removeFile(name, dirFD: h.dirFD)
                    removed += 1
                }
            }
            return removed
        }
    }

    // MARK: Names

    /// The file name for a key (see the type's documentation).
    static func fileName(for key: String) -> String {
        var name: [UInt8] = [UInt8(ascii: "k")]
        let hex = Array("0123456789ABCDEF".utf8)
        for b in key.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                name.append(b)
            default:
                name += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
            if name.count > maxNameBytes { break }
        }
        if name.count > maxNameBytes {
            return "h" + Digest.hex(Digest.sha256(Array(key.utf8)))
        }
        return String(decoding: name, as: UTF8.self)
    }

    /// The key of a `k` name, nil if it is not a well-formed name.
    static func decodeName(_ name: String) -> String? {
        guard let key = String(name.dropFirst()).percentDecoded(), !key.isEmpty else { return nil }
        return key
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    // MARK: Reading

    private struct File {
        var key: String
        var record: StoreRecord
        var expiresAtMillis: Int64?
    }

    /// The live record stored for `key` (nil if absent, expired, or the file belongs to another key).
    private func readLive(_ key: String, now: Int64) throws -> File? {
        guard let file = try read(name: Self.fileName(for: key)), StoreSupport.sameBytes(file.key, key),
            !StoreSupport.isExpired(file.expiresAtMillis, now: now)
        else { return nil }
        return file
    }

    /// Reads and parses one data file; nil if it does not exist.
    private func read(name: String) throws -> File? {
        let fd = open(path(name), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw posixError("open \(path(name))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw posixError("stat \(path(name))") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("read \(path(name))")
            }
            if n == 0 { break }
            filled += n
        }
        guard filled == bytes.count else { throw StoreError(.corrupt, "\(path(name)): file shrank while reading") }
        return try parse(bytes, name: name)
    }

    private func parse(_ bytes: [UInt8], name: String) throws -> File {
        func corrupt(_ why: String) -> StoreError { StoreError(.corrupt, "\(path(name)): \(why)") }
        guard bytes.count >= Self.headerSize, Array(bytes[0..<4]) == Self.magic else { throw corrupt("bad header") }
        func int64(at offset: Int) -> Int64 {
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            return Int64(bitPattern: v)
        }
        let version = int64(at: 4)
        let hasExpiry = bytes[12] != 0
        let expiresAt = hasExpiry ? int64(at: 13) : nil
        var keyLength = 0
        for i in 0..<4 { keyLength |= Int(bytes[21 + i]) << (8 * i) }
        guard keyLength > 0, keyLength <= StoreSupport.maxKeyBytes, Self.headerSize + keyLength <= bytes.count else {
            throw corrupt("bad key length")
        }
        guard let key = String(validating: bytes[Self.headerSize..<(Self.headerSize + keyLength)], as: UTF8.self) else {
            throw corrupt("key is not UTF-8")
        }
        let value = Data(bytes[(Self.headerSize + keyLength)...])
        return File(
            key: key, record: StoreRecord(value: value, version: version, expiresAt: StoreSupport.date(expiresAt)),
            expiresAtMillis: expiresAt)
    }

    private func directoryNames(includeHidden: Bool = false) throws -> [String] {
        guard let dir = opendir(directory) else { throw posixError("opendir \(directory)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") && !includeHidden { continue }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    // MARK: Writing (all with the write lock held)

    private func withWriteLock<T: Sendable>(_ body: (Handles, _ now: Int64) throws -> T) throws -> T {
        try writer.withLock { h throws -> T in
            if h.lockFD < 0 {
                let fd = open(path(".lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw posixError("open \(path(".lock"))") }
                h.lockFD = fd
            }
            if h.dirFD < 0 {
                let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { throw posixError("open \(directory)") }
                h.dirFD = fd
            }
            while flock(h.lockFD, LOCK_EX) != 0 {
                guard errno == EINTR else { throw posixError("flock \(path(".lock"))") }
            }
            defer { flock(h.lockFD, LOCK_UN) }
            try replayJournal(dirFD: h.dirFD)
            // "now" is read under the lock, so expiry decisions follow lock order.
            return try body(h, StoreSupport.nowMillis())
        }
    }

    private func write(_ key: String, _ value: Data, version: Int64, expiresAt: Int64?, dirFD: Int32) throws {
        var header: [UInt8] = Self.magic
        header.reserveCapacity(Self.headerSize + key.utf8.count)
        func append(_ v: Int64) { for i in 0..<8 { header.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * UInt64(i)))) } }
        append(version)
        header.append(expiresAt == nil ? 0 : 1)
        append(expiresAt ?? 0)
        let keyBytes = Array(key.utf8)
        for i in 0..<4 { header.append(UInt8(truncatingIfNeeded: keyBytes.count >> (8 * i))) }
        header += keyBytes

        try replaceWhole(Self.fileName(for: key)) { fd, temp in
            try header.withUnsafeBytes { try writeAll(fd, $0, temp) }
            try value.withUnsafeBytes { try writeAll(fd, $0, temp) }
        }
        fsync(dirFD)
    }

    /// Replaces the file `name` whole or not at all: the contents go to a temporary file in the store, which is
    /// fsync'ed and renamed over `name` (a crash leaves the old file or the new one, and at worst a `.tmp.` file
    /// that `purge` removes). The caller fsyncs the directory as its rule says.
    private func replaceWhole(_ name: String, _ writeContents: (_ fd: Int32, _ temp: String) throws -> Void) throws {
        let temp = path(".tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError("create \(temp)") }
        do {
            try writeContents(fd, temp)
            guard fsync(fd) == 0 else { throw posixError("fsync \(temp)") }
            guard close(fd) == 0 else { throw posixError("close \(temp)") }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard rename(temp, path(name)) == 0 else {
            let error = posixError("rename \(temp)")
            unlink(temp)
            throw error
        }
    }

    private func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, _ what: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("write \(what)")
            }
            offset += n
        }
    }

    private func removeFile(_ name: String, dirFD: Int32) throws {
        if unlink(path(name)) != 0 && errno != ENOENT { throw posixError("unlink \(path(name))") }
        fsync(dirFD)
    }

    // MARK: Batch journal (all with the write lock held, except the reader's existence check)

    static let journalName = ".journal"
    private static let journalMagic: [UInt8] = Array("GKVJ1".utf8)

    /// A record as a batch leaves it: new bytes and version, or removed (`value` nil).
    private struct PostImage {
        var key: String
        var value: Data?
        var version: Int64
        var expiresAt: Int64?
    }

    /// A reader that finds a journal left by a crashed batch takes the write lock, which replays it first.
    private func recoverInterruptedBatch() throws {
        guard access(path(Self.journalName), F_OK) == 0 else { return }
        try withWriteLock { _, _ in }
    }

    private func writeJournal(_ images: [PostImage], dirFD: Int32) throws {
        var body: [UInt8] = []
        func append(_ v: Int64) { for i in 0..<8 { body.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * UInt64(i)))) } }
        append(Int64(images.count))
        for image in images {
            body.append(image.value == nil ? 0 : 1)
            append(image.version)
            body.append(image.expiresAt == nil ? 0 : 1)
            append(image.expiresAt ?? 0)
            let key = Array(image.key.utf8)
            append(Int64(key.count))
            body += key
            append(Int64(image.value?.count ?? 0))
            if let value = image.value { body += value }
        }
        let content = Self.journalMagic + Digest.sha256(body) + body
        try replaceWhole(Self.journalName) { fd, temp in try content.withUnsafeBytes { try writeAll(fd, $0, temp) } }
        guard fsync(dirFD) == 0 else { throw posixError("fsync \(directory)") }
    }

    /// Writes every post-image (idempotent: versions are absolute).
    private func apply(_ images: [PostImage], dirFD: Int32) throws {
        for image in images {
            if let value = image.value {
                try write(image.key, value, version: image.version, expiresAt: image.expiresAt, dirFD: dirFD)
            } else {
                let name = Self.fileName(for: image.key)
                if let file = try read(name: name), StoreSupport.sameBytes(file.key, image.key) { try removeFile(name, dirFD: dirFD) }
            }
        }
    }

    /// Finishes a batch a crashed writer journaled but may not have applied.
    private func replayJournal(dirFD: Int32) throws {
        let fd = open(path(Self.journalName), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw posixError("open \(path(Self.journalName))")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                close(fd)
                throw posixError("read \(path(Self.journalName))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        close(fd)
        try apply(try parseJournal(bytes), dirFD: dirFD)
        try removeFile(Self.journalName, dirFD: dirFD)
    }

    private func parseJournal(_ bytes: [UInt8]) throws -> [PostImage] {
        func corrupt(_ why: String) -> StoreError { StoreError(.corrupt, "\(path(Self.journalName)): \(why)") }
        let head = Self.journalMagic.count + 32
        guard bytes.count >= head + 8, Array(bytes[0..<Self.journalMagic.count]) == Self.journalMagic else { throw corrupt("bad header") }
        let body = Array(bytes[head...])
        guard Digest.sha256(body) == Array(bytes[Self.journalMagic.count..<head]) else { throw corrupt("checksum mismatch") }
        var offset = 0
        func int64() throws -> Int64 {
            guard offset + 8 <= body.count else { throw corrupt("truncated") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(body[offset + i]) << (8 * UInt64(i)) }
            offset += 8
            return Int64(bitPattern: v)
        }
        func byte() throws -> UInt8 {
            guard offset < body.count else { throw corrupt("truncated") }
            offset += 1
            return body[offset - 1]
        }
        func slice(_ count: Int64) throws -> ArraySlice<UInt8> {
            guard count >= 0, count <= body.count - offset else { throw corrupt("truncated") }
            offset += Int(count)
            return body[(offset - Int(count))..<offset]
        }
        var images: [PostImage] = []
        for _ in 0..<(try int64()) {
            let writes = try byte() != 0
            let version = try int64()
            let hasExpiry = try byte() != 0
            let expiresAt = try int64()
            guard let key = String(validating: try slice(try int64()), as: UTF8.self) else { throw corrupt("key is not UTF-8") }
            let value = Data(try slice(try int64()))
            images.append(PostImage(key: key, value: writes ? value : nil, version: version, expiresAt: hasExpiry ? expiresAt : nil))
        }
        return images
    }

    private func posixError(_ what: String) -> StoreError {
        let code = errno
        return StoreError(.unavailable, "\(what): \(String(cString: strerror(code))) (errno \(code))")
    }
}
