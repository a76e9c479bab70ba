import CZlib
import FoundationEssentials

/// gzip (RFC 1952) on the system zlib: the files export jobs hand out are `.json.gz` / `.csv.gz`, as Auth0's.
public final class Gzip {
    private var stream = z_stream()
    private var output: [UInt8] = []
    private var open = false

    public struct Failure: Error, Sendable, Equatable {
        /// zlib's return code.
        public var code: Int32
    }

    public init() throws(Failure) {
        // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
        let status = deflateInit2_(
            &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw Failure(code: status) }
        open = true
    }

    deinit { if open { deflateEnd(&stream) } }

    /// Compresses `bytes` into the output.
    public func append(_ bytes: some Collection<UInt8>) throws(Failure) {
        try run(Array(bytes), flush: Z_NO_FLUSH)
    }

    /// Ends the stream and returns the whole gzip file.
    public func finish() throws(Failure) -> [UInt8] {
        try run([], flush: Z_FINISH)
        deflateEnd(&stream)
        open = false
        return output
    }

    private func run(_ input: [UInt8], flush: Int32) throws(Failure) {
        var input = input
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var failure: Int32?
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                let status = chunk.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    return deflate(&stream, flush)
                }
                if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                    failure = status
                    return
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if status == Z_STREAM_END { break }
            } while stream.avail_out == 0 || (flush == Z_FINISH)
            stream.next_in = nil
        }
        if let failure { throw Failure(code: failure) }
    }
}

/// gunzip on the system zlib, a slice at a time: `gangway migrate from-auth0` reads Auth0's gzipped NDJSON export
/// without holding the whole decompressed file.
public final class Gunzip {
    private var stream = z_stream()
    private var open = false
    /// True once the gzip trailer was read.
    public private(set) var finished = false

    public init() throws(Gzip.Failure) {
        // windowBits 15 + 16: a gzip header and trailer, as Auth0's `.json.gz` files have.
        let status = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw Gzip.Failure(code: status) }
        open = true
    }

    deinit { if open { inflateEnd(&stream) } }

    /// Decompresses the next slice of the file; returns what it holds (possibly nothing). Data past the end of the
    /// gzip stream is an error (`Z_DATA_ERROR`), as is a corrupt stream.
    public func inflate(_ input: some Collection<UInt8>) throws(Gzip.Failure) -> [UInt8] {
        var input = Array(input)
        guard !input.isEmpty else { return [] }
        guard !finished else { throw Gzip.Failure(code: Z_DATA_ERROR) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var failure: Int32?
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                let status = chunk.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    failure = status
                    break
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if status == Z_STREAM_END {
                    finished = true
                    if stream.avail_in > 0 { failure = Z_DATA_ERROR }
                    break
                }
                if status == Z_BUF_ERROR { break }  // no progress possible: the slice is used up
            } while stream.avail_in > 0 || stream.avail_out == 0  // a full output chunk may leave more pending
            stream.next_in = nil
        }
        if let failure { throw Gzip.Failure(code: failure) }
        return output
    }
}
