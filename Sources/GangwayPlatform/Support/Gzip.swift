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
