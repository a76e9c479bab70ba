import GangwayPlatform
import HTTPTypes

/// The secret that tells a sandbox's own worker apart from any other local process.
///
/// A loopback port is open to every process on the machine, so the Runtime API alone would hand invocation events
/// (with passwords and client secrets) to whoever polls first and accept anyone's answer. The gateway makes one
/// secret per sandbox, gives it only to the worker it spawns (in its environment), and refuses with 403 every
/// Runtime API request that does not carry it. AWS Lambda sends no such header: the function side adds it only
/// when the environment holds one (RuntimeAPIConnection).
struct RuntimeAPICredential: Sendable {
    /// Where the worker finds its credential; the same name RuntimeAPIConnection reads.
    static let environmentKey = "GANGWAY_RUNTIME_API_CREDENTIAL"
    /// The header that carries it on every Runtime API request.
    static let header = HTTPField.Name("Gangway-Runtime-Credential")!

    let value: String

    init() { value = Random.token(bytes: 32) }

    /// Whether a presented header value is this credential; compared in constant time so the answer's timing
    /// does not reveal how much of a guess was right.
    func admits(_ presented: String?) -> Bool {
        guard let presented else { return false }
        let expected = Array(value.utf8)
        let given = Array(presented.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) { difference |= a ^ b }
        return difference == 0
    }
}
