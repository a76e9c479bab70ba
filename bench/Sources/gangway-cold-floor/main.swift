// The cold floor of bench/cold_start.sh and bench/token_refresh.sh: the least a function executable can do, built
// the way the functions are (release, Swift runtime and libstdc++ linked in). It reads one event from stdin to its
// end and writes a constant API Gateway response; a function's cold invocation is measured against it.
#if canImport(Glibc)
    import Glibc
#endif

var buffer = [UInt8](repeating: 0, count: 64 << 10)
while buffer.withUnsafeMutableBytes({ read(0, $0.baseAddress, $0.count) }) > 0 {}
let answer = #"{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{}","isBase64Encoded":false}"# + "\n"
_ = answer.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress, $0.count - 1) }
