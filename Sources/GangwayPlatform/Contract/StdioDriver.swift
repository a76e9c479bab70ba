import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// One event on stdin, one response on stdout, exit 0: the contract `gangway serve --mode cgi` and
/// `gangway invoke` use (runtime/CONTRACT.md).
struct StdioDriver {
    let function: Function

    func run() async -> Never {
        let input = readStandardInput(limit: function.configuration.maxEventBytes + 1)
        let handled = await function.handle(eventBytes: input)
        writeStandardOutput(String(decoding: handled.response.contractJSON(), as: UTF8.self) + "\n")
        handled.afterDelivery()
        exit(0)
    }

    /// Reads stdin up to `limit` bytes; anything beyond is drained and ignored (the size check rejects it).
    private func readStandardInput(limit: Int) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if result.count < limit { result.append(contentsOf: chunk[0..<min(n, limit - result.count)]) }
        }
        return result
    }

    private func writeStandardOutput(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes = bytes.dropFirst(n)
        }
    }
}
