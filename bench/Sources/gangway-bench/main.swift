import FoundationEssentials
import GangwayAuth0

#if canImport(Glibc)
    import Glibc
#endif

// gangway-bench [seconds]: RS256 signing throughput, printed as one JSON line: per wall-clock second
// (`*_per_sec`) and per second of this thread's CPU time (`*_per_cpu_sec`, what plain `openssl speed` reports).
// gangway-bench bcrypt [count]: the wall time of `PasswordHash.make` and `PasswordHash.verify` at the default
// cost (10), `count` runs each (default 30) after one warm-up, as one JSON line of medians and minima in ms.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "bcrypt" {
    let runs = max(1, CommandLine.arguments.count > 2 ? (Int(CommandLine.arguments[2]) ?? 30) : 30)
    let clock = ContinuousClock()
    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
    func timed(_ body: () throws -> Void) rethrows -> [Double] {
        try body()
        var out: [Double] = []
        for _ in 0..<runs { out.append(ms(try clock.measure(body))) }
        return out.sorted()
    }
    func median(_ xs: [Double]) -> Double { xs.count % 2 == 1 ? xs[xs.count / 2] : (xs[xs.count / 2 - 1] + xs[xs.count / 2]) / 2 }
    func f3(_ x: Double) -> String { String(Double(Int((x * 1000).rounded())) / 1000) }
    var hash = ""
    let make = try timed { hash = try PasswordHash.make("Bench-bcrypt-1!") }
    let verify = timed { precondition(PasswordHash.verify("Bench-bcrypt-1!", against: hash)) }
    print(
        #"{"cost": \#(PasswordHash.defaultCost), "runs": \#(runs), "make_ms_median": \#(f3(median(make))), "make_ms_min": \#(f3(make[0])), "#
            + #""verify_ms_median": \#(f3(median(verify))), "verify_ms_min": \#(f3(verify[0]))}"#
    )
    exit(0)
}
let seconds = CommandLine.arguments.count > 1 ? (Double(CommandLine.arguments[1]) ?? 3) : 3
let duration = Duration.milliseconds(Int64(seconds * 1000))

let key = try RSAKey.generate(bits: 2048)
let kid = "bench-key-1"
let now = Int64(Date().timeIntervalSince1970)
// A typical Auth0-style access token payload (~300 bytes of claims).
let claims: [String: JSONValue] = [
    "iss": "https://gangway.example.com/",
    "sub": "auth0|65f1c0ffee0123456789abcd",
    "aud": ["https://api.example.com/", "https://gangway.example.com/userinfo"],
    "iat": .int(now),
    "exp": .int(now + 86400),
    "azp": "Xk3v9QpLr2Tz8WnB4YhC6uJd1MaE7sFg",
    "scope": "openid profile email read:messages write:messages",
    "gty": "password",
]
let sample = try JWT.sign(claims: claims, key: key, kid: kid)
let signingInput = Array(sample.utf8[..<sample.utf8.lastIndex(of: UInt8(ascii: "."))!])

let clock = ContinuousClock()

func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// (per wall-clock second, per CPU second)
func measure(_ body: () throws -> Void) rethrows -> (Double, Double) {
    for _ in 0..<20 { try body() }  // warm-up
    var count = 0
    let cpuStart = threadCPUSeconds()
    let start = clock.now
    let deadline = start + duration
    while clock.now < deadline {
        for _ in 0..<16 { try body() }
        count += 16
    }
    let elapsed = clock.now - start
    let cpu = threadCPUSeconds() - cpuStart
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (Double(count) / secs, Double(count) / cpu)
}

var sink = 0
let rawRate = try measure { sink &+= try key.signRS256(signingInput).count }
let jwtRate = try measure { sink &+= try JWT.sign(claims: claims, key: key, kid: kid).utf8.count }
precondition(sink > 0)

func fmt(_ x: Double) -> String { String(Double(Int((x * 10).rounded())) / 10) }
print(
    #"{"rs256_signs_per_sec": \#(fmt(rawRate.0)), "jwt_signs_per_sec": \#(fmt(jwtRate.0)), "#
        + #""rs256_signs_per_cpu_sec": \#(fmt(rawRate.1)), "jwt_signs_per_cpu_sec": \#(fmt(jwtRate.1))}"#
)
