import FoundationEssentials
import GangwayCore

// gangway-bench [seconds]: RS256 signing throughput, printed as one JSON line.
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

func measure(_ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<20 { try body() }  // warm-up
    var count = 0
    let start = clock.now
    let deadline = start + duration
    while clock.now < deadline {
        for _ in 0..<16 { try body() }
        count += 16
    }
    let elapsed = clock.now - start
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double(count) / secs
}

var sink = 0
let rawRate = try measure { sink &+= try key.signRS256(signingInput).count }
let jwtRate = try measure { sink &+= try JWT.sign(claims: claims, key: key, kid: kid).utf8.count }
precondition(sink > 0)

func fmt(_ x: Double) -> String { String(Double(Int((x * 10).rounded())) / 10) }
print(#"{"rs256_signs_per_sec": \#(fmt(rawRate)), "jwt_signs_per_sec": \#(fmt(jwtRate))}"#)
