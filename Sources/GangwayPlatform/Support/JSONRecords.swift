import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The records of a file of JSON objects, one at a time: a JSON array of objects (`[{…}, {…}]`, what Auth0's
/// import job takes) or newline-delimited JSON (`{…}\n{…}`, what Auth0's export job writes). Which of the two is
/// decided by the first byte that is not whitespace.
///
/// Hand-written because no library here streams JSON: Foundation's decoders take a whole document, and a
/// million-user file must not be held in memory. This only *frames* records (it tracks strings, escapes and
/// nesting depth to find where each top-level value ends); each record's bytes are then parsed by `JSONDecoder`.
/// Memory is one read block plus the largest record, whatever the file's size.
public struct JSONRecords: Sendable {
    public enum Layout: String, Sendable { case array, lines }

    /// Why the file cannot be read as records (the job fails as a whole; Auth0's "invalid JSON" job failure).
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        /// Byte offset in the file where reading stopped.
        public var offset: Int
    }

    /// The largest single record accepted (Auth0's whole import file is 512,000 bytes).
    public var maxRecordBytes = 1 << 20

    private var source: Source
    private var buffer: [UInt8] = []
    private var position = 0
    private var consumed = 0  // bytes dropped from the front of `buffer` so far
    private var eof = false
    private(set) public var layout: Layout?
    private var finished = false
    private var sawElement = false

    private enum Source: @unchecked Sendable {
        case bytes
        case descriptor(Int32)
        case blocks(() throws -> [UInt8]?)
    }

    /// Records of an in-memory file.
    public init(bytes: [UInt8]) {
        source = .bytes
        buffer = bytes
        eof = true
    }

    /// Records read from an open file descriptor (not closed here), `blockSize` bytes at a time.
    public init(descriptor: Int32) {
        source = .descriptor(descriptor)
    }

    /// Records of a stream that is not a file, read a block at a time through `nextBlock` (nil at its end): a
    /// download being decompressed, say.
    public init(blocks nextBlock: @escaping () throws -> [UInt8]?) {
        source = .blocks(nextBlock)
    }

    /// Bytes of the file read so far (for a progress bar).
    public var bytesRead: Int { consumed + buffer.count }

    /// The next record's bytes (one JSON value, most often an object), or nil at the end of the file.
    public mutating func next() throws(Failure) -> [UInt8]? {
        guard !finished else { return nil }
        if layout == nil {
            guard let first = try skipWhitespace() else {
                finished = true
                return nil  // an empty file: no records
            }
            layout = first == UInt8(ascii: "[") ? .array : .lines
            if layout == .array { position += 1 }
        }
        if layout == .array {
            // After an element: `,` then the next, or `]` then only whitespace.
            guard let c = try skipWhitespace() else { throw fail("the JSON array is not closed") }
            if c == UInt8(ascii: "]") {
                position += 1
                if try skipWhitespace() != nil { throw fail("unexpected data after the JSON array") }
                finished = true
                return nil
            }
            if sawElement {
                guard c == UInt8(ascii: ",") else { throw fail("expected ',' or ']' between array elements") }
                position += 1
                guard try skipWhitespace() != nil else { throw fail("the JSON array is not closed") }
            }
        } else {
            guard try skipWhitespace() != nil else {
                finished = true
                return nil
            }
        }
        let record = try value()
        sawElement = true
        compact()
        return record
    }

    // MARK: - Framing

    /// The bytes of one JSON value starting at `position`: an object or array by depth, a string by its quotes,
    /// a number or literal up to the next delimiter.
    private mutating func value() throws(Failure) -> [UInt8] {
        let start = position
        var depth = 0
        var inString = false
        var escaped = false
        while true {
            if position >= buffer.count {
                guard try fill() else {
                    // A bare scalar may end at the end of the file; anything open may not.
                    if depth == 0 && !inString && position > start { return Array(buffer[start..<position]) }
                    throw fail("the file ends inside a record")
                }
            }
            let c = buffer[position]
            if position - start > maxRecordBytes { throw fail("a record is longer than \(maxRecordBytes) bytes") }
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 {
                        position += 1
                        return Array(buffer[start..<position])
                    }
                }
                position += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return Array(buffer[start..<position]) }  // the array's own `]` after a scalar
                depth -= 1
                if depth == 0 {
                    position += 1
                    return Array(buffer[start..<position])
                }
            case UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                if depth == 0 { return Array(buffer[start..<position]) }
            default:
                break
            }
            position += 1
        }
    }

    /// The first non-whitespace byte at or after `position` (not consumed), or nil at the end of the file.
    private mutating func skipWhitespace() throws(Failure) -> UInt8? {
        while true {
            while position < buffer.count {
                switch buffer[position] {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): position += 1
                default: return buffer[position]
                }
            }
            guard try fill() else { return nil }
        }
    }

    private static let blockSize = 1 << 16

    /// Reads one more block; false at the end of the file.
    private mutating func fill() throws(Failure) -> Bool {
        guard !eof else { return false }
        switch source {
        case .bytes:
            return false
        case .blocks(let nextBlock):
            while true {
                let block: [UInt8]?
                do {
                    block = try nextBlock()
                } catch {
                    throw fail("the file cannot be read (\(error))")
                }
                guard let block else {
                    eof = true
                    return false
                }
                if block.isEmpty { continue }
                buffer.append(contentsOf: block)
                return true
            }
        case .descriptor(let fd):
            return try readBlock(fd)
        }
    }

    /// Reads one block of `fd`; false at its end.
    private mutating func readBlock(_ fd: Int32) throws(Failure) -> Bool {
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        while true {
            let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("the file cannot be read (errno \(errno))")
            }
            if n == 0 {
                eof = true
                return false
            }
            buffer.append(contentsOf: block[0..<n])
            return true
        }
    }

    /// Drops the bytes before `position` once they are a good part of the buffer (records already returned).
    private mutating func compact() {
        guard position > Self.blockSize else { return }
        buffer.removeFirst(position)
        consumed += position
        position = 0
    }

    private func fail(_ why: String) -> Failure { Failure(description: why, offset: consumed + position) }
}
