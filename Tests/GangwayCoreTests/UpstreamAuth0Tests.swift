import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

/// The one profile mapper both lazy migrations use, and the one retry policy of `UpstreamAuth0.call`
/// (driven here by a transport closure; the drop tests against a fake upstream are in GangwayTests).
@Suite struct UpstreamAuth0Tests {
    @Test func newUsersKeepTheUpstreamSubject() throws {
        let user = try #require(UpstreamProfile(["sub": "auth0|abc", "email": "a@example.com", "email_verified": true, "name": "A"]))
            .newUser(connection: "Username-Password-Authentication")
        #expect(user.userId == "auth0|abc" && user.upstreamSub == "auth0|abc")
        #expect(user.identities == [User.Identity(connection: "Username-Password-Authentication", userId: "abc", provider: "auth0")])
        #expect(user.emailVerified && user.name == "A" && user.email == "a@example.com")
        let social = try #require(UpstreamProfile(["sub": "google-oauth2|42"])).newUser(connection: "c")
        #expect(social.identities.first?.provider == "google-oauth2" && social.identities.first?.isSocial == true)
        #expect(
            UpstreamProfile.isValidSubject("auth0|abc") && !UpstreamProfile.isValidSubject("") && !UpstreamProfile.isValidSubject("a/b"))
    }

    @Test func aBareSubjectGetsAFreshIdAndUnusableSubjectsNoProfile() throws {
        let bare = try #require(UpstreamProfile(["sub": "abc"])).newUser(connection: "db")
        #expect(bare.userId.hasPrefix("auth0|") && bare.userId != "auth0|abc" && bare.upstreamSub == "abc")
        #expect(bare.identities.first?.provider == "auth0" && bare.identities.first?.isSocial == false)
        #expect(UpstreamProfile(["sub": .string(String(repeating: "a", count: 256))]) == nil)
        #expect(UpstreamProfile(["sub": "a\u{7}b"]) == nil && UpstreamProfile(["email": "x@example.com"]) == nil)
    }

    @Test func theTypedLoginIsIndexedWhenTheProfileNamesNoMatch() throws {
        let profile = try #require(UpstreamProfile(["sub": "auth0|u1", "email": "someone@example.com", "preferred_username": "some1"]))
        let byName = profile.newUser(connection: "db", login: "Some1", passwordHash: "h")
        #expect(byName.email == "someone@example.com" && byName.username == "some1" && byName.passwordHash == "h")
        let typedOther = profile.newUser(connection: "db", login: "alias")
        #expect(typedOther.username == "some1", "the profile's username wins over a typed alias")
        let noEmail = try #require(UpstreamProfile(["sub": "auth0|u2"])).newUser(connection: "db", login: "Typed@Example.com")
        #expect(noEmail.email == "Typed@Example.com")
    }

    static let endpoints = UpstreamAuth0.Endpoints(
        token: "http://127.0.0.1:9/t", tokenLabel: "token endpoint", userinfo: "http://127.0.0.1:9/u", userinfoLabel: "userinfo")

    /// Replays `outcomes` as the answers of successive requests.
    func run(_ budget: Duration, _ outcomes: [Result<Int, UpstreamError>]) -> (Result<UpstreamResponse, UpstreamAuth0.Failure>, Int, [Bool])
    {
        let upstream = UpstreamAuth0(Self.endpoints, budget: UpstreamBudget(budget))
        var next = outcomes[...]
        var fresh: [Bool] = []
        let result = Result { () throws(UpstreamAuth0.Failure) in
            try upstream.call("token endpoint") { _, isFresh throws(UpstreamError) in
                fresh.append(isFresh)
                switch next.popFirst()! {
                case .success(let status):
                    return UpstreamResponse(status: status, headers: [:], body: Array(#"{"error":"e\u0000vil\n code"}"#.utf8))
                case .failure(let error): throw error
                }
            }
        }
        return (result, upstream.attempts, fresh)
    }

    @Test func retriedOnceOnA5xxOrNetworkErrorOrTimeoutOnAFreshConnection() throws {
        let (fiveHundreds, attempts, fresh) = run(.seconds(2), [.success(503), .success(500)])
        #expect(throws: UpstreamAuth0.Failure.self) { try fiveHundreds.get() }
        if case .failure(let f) = fiveHundreds {
            #expect(f.description == "token endpoint answered 500 evilcode (after one retry)" && f.status == 500)
        }
        #expect(attempts == 2 && fresh == [false, true])

        let timeout = UpstreamError(code: .timeout, message: "Operation timed out")
        let (afterTimeout, timeoutAttempts, _) = run(.seconds(2), [.failure(timeout), .success(200)])
        #expect(try afterTimeout.get().status == 200 && timeoutAttempts == 2, "a timeout is retried while the budget has time left")

        let refused = UpstreamError(code: .connectionFailed, message: "refused")
        let (twiceRefused, _, _) = run(.seconds(2), [.failure(refused), .failure(refused)])
        if case .failure(let f) = twiceRefused {
            #expect(f.description == "token endpoint: network error (connectionFailed): refused (after one retry)")
        } else {
            Issue.record("refused twice must fail")
        }
    }

    @Test func neverRetriedOnA4xxABadURLOrWithoutTime() throws {
        let (rejected, attempts, _) = run(.seconds(2), [.success(403)])
        #expect(try rejected.get().status == 403 && attempts == 1)
        let (bad, badAttempts, _) = run(.seconds(2), [.failure(UpstreamError(code: .invalidURL, message: "nope"))])
        #expect(throws: UpstreamAuth0.Failure.self) { try bad.get() }
        #expect(badAttempts == 1)
        let (spent, spentAttempts, _) = run(.milliseconds(1), [])
        if case .failure(let f) = spent {
            #expect(f.description == "token endpoint: time budget exhausted")
        } else {
            Issue.record("no time, no request")
        }
        #expect(spentAttempts == 0)
    }
}
