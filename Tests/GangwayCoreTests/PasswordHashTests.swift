import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

@Suite("PasswordHash")
struct PasswordHashTests {
    @Test func makeAndVerifyRoundTrip() throws {
        let hash = try PasswordHash.make("correct horse battery staple")
        #expect(hash.count == 60)
        #expect(hash.hasPrefix("$2b$10$"))  // default cost 10
        #expect(PasswordHash.verify("correct horse battery staple", against: hash))
        #expect(!PasswordHash.verify("correct horse battery stapl", against: hash))
        #expect(!PasswordHash.verify("Correct horse battery staple", against: hash))
        #expect(!PasswordHash.verify("", against: hash))
        // Fresh salt every time.
        #expect(try PasswordHash.make("correct horse battery staple") != hash)
    }

    @Test func unicodeAndEmptyPasswords() throws {
        let h = try PasswordHash.make("pässwörd 🔑", cost: 4)
        #expect(h.hasPrefix("$2b$04$"))
        #expect(PasswordHash.verify("pässwörd 🔑", against: h))
        #expect(!PasswordHash.verify("passwörd 🔑", against: h))
        let e = try PasswordHash.make("", cost: 4)
        #expect(PasswordHash.verify("", against: e))
        #expect(!PasswordHash.verify(" ", against: e))
    }

    /// Published vectors from Openwall's crypt_blowfish (wrapper.c, `#ifdef TEST`), the bcrypt implementation
    /// libxcrypt is derived from; also shipped by John the Ripper and PHPass test suites.
    @Test(arguments: [
        ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
        ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
        ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
        ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
        (
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
            "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
        ),
    ])
    func publishedVectors(password: String, hash: String) {
        #expect(PasswordHash.verify(password, against: hash))
        #expect(!PasswordHash.verify(password + "x", against: hash) || password.utf8.count >= 72)
        // $2b$ and $2y$ produce the same output as $2a$ for these (ASCII, < 256 bytes) passwords.
        for prefix in ["$2b$", "$2y$"] {
            #expect(PasswordHash.verify(password, against: prefix + hash.dropFirst(4)))
        }
    }

    @Test func onlyFirst72BytesCount() throws {
        let base = String(repeating: "a", count: 72)
        let h = try PasswordHash.make(base, cost: 4)
        #expect(PasswordHash.verify(base + "anything after byte 72", against: h))
        #expect(!PasswordHash.verify(String(base.dropLast()), against: h))
    }

    @Test func costIsEncoded() throws {
        #expect(try PasswordHash.make("x", cost: 10).dropFirst(4).prefix(3) == "10$")
        #expect(try PasswordHash.make("x", cost: 5).hasPrefix("$2b$05$"))
        #expect(throws: PasswordHash.Failure.invalidCost) { try PasswordHash.make("x", cost: 3) }
        #expect(throws: PasswordHash.Failure.invalidCost) { try PasswordHash.make("x", cost: 32) }
    }

    @Test func nulIsRejectedNotTruncated() throws {
        #expect(throws: PasswordHash.Failure.invalidPassword) { try PasswordHash.make("abc\0def") }
        let h = try PasswordHash.make("abc", cost: 4)
        #expect(!PasswordHash.verify("abc\0def", against: h))
        #expect(!PasswordHash.verify("abc\0", against: h))
        #expect(throws: PasswordHash.Failure.invalidPassword) {
            try PasswordHash.make(String(repeating: "z", count: 600), cost: 4)
        }
    }

    @Test func malformedHashesAreFalse() throws {
        let good = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
        let tail = String(good.dropFirst(7))  // salt + digest, 53 chars
        var bad: [String] = ["", "$", "$2a$", "$2a$05$", "not-a-hash", "*0", "*1"]
        bad.append(String(good.dropLast()))  // 59 chars
        bad.append(good + "x")  // 61 chars
        bad.append("$2x$05$" + tail)  // $2x$ (buggy legacy variant) not accepted
        bad.append("$2c$05$" + tail)
        bad.append("$2a$5$" + tail + "C")  // one-digit cost
        bad.append("$2a$03$" + tail)  // cost below 4
        bad.append("$2a$31$" + tail)  // cost too high: would take days
        bad.append("$2a$0a$" + tail)
        bad.append("$2a$05$" + String(tail.dropLast()) + "!")  // not bcrypt base64
        bad.append("$1$abcdefgh$" + String(repeating: "x", count: 48))  // MD5-crypt
        bad.append("$2a$05$" + String(tail.dropLast()) + "\u{e9}")  // non-ASCII
        for hash in bad {
            #expect(!PasswordHash.verify("U*U", against: hash), "\(hash)")
        }
        #expect(PasswordHash.verify("U*U", against: good))
    }

    @Test func concurrentUseIsSafe() async throws {
        let hash = try PasswordHash.make("parallel", cost: 4)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask { PasswordHash.verify(i.isMultiple(of: 2) ? "parallel" : "serial", against: hash) }
            }
            var out: [Bool] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 }.count == 8)
    }

    @Test func dummyVerifyTakesAboutAsLongAsVerify() throws {
        let hash = try PasswordHash.make("timing", cost: 10)
        let clock = ContinuousClock()
        func measure(_ body: () -> Void) -> Duration {
            // Best of 3 to shave off scheduler noise (2 shared cores).
            (0..<3).map { _ in clock.measure(body) }.min()!
        }
        let real = measure { _ = PasswordHash.verify("wrong", against: hash) }
        let dummy = measure { PasswordHash.dummyVerify("wrong") }
        let ratio = dummy / real
        #expect(ratio > 0.5 && ratio < 2.0, "verify \(real), dummyVerify \(dummy)")
        #expect(real > .milliseconds(5))  // it really is bcrypt cost 10, not a shortcut
    }
}
