import Foundation
import GangwayAuth0
import Testing

/// `UpstreamAuth0` against `tests/fake_auth0.py` on loopback: how many requests really reach an upstream that
/// drops the connection, or is slow. At most two per call, libcurl's own resend on a dead keep-alive
/// connection included.
@Suite("Upstream Auth0 client against a fake upstream", .serialized)
final class UpstreamAuth0FakeTests {
    let fake: FakeUpstream

    init() throws {
        fake = try FakeUpstream()
    }

    func upstream(_ budget: Duration = .seconds(3)) -> UpstreamAuth0 {
        UpstreamAuth0(.tenant(fake.base), budget: UpstreamBudget(budget))
    }

    enum Grant: CaseIterable { case passwordRealm, refresh }

    /// Runs the grant (and /userinfo after it) for a fresh upstream user.
    func exchange(_ grant: Grant, _ client: UpstreamAuth0) throws -> Result<UpstreamProfile, UpstreamAuth0.Failure> {
        let user = try fake.addUser()
        let token = "up_rt_" + UUID().uuidString
        try fake.control("/_refresh_tokens", ["token": .string(token), "sub": .string(user.sub)])
        return Result { () throws(UpstreamAuth0.Failure) in
            let accessToken =
                switch grant {
                case .passwordRealm:
                    try client.passwordRealmGrant(
                        realm: "Username-Password-Authentication", username: user.email, password: user.password,
                        clientId: "upstream-client",
                        secret: FakeUpstream.secret, scope: "openid profile email", forwardedFor: "203.0.113.1"
                    )
                case .refresh:
                    try client.refreshGrant(
                        token, clientId: "upstream-client", secret: FakeUpstream.secret, scope: nil, audience: nil, forwardedFor: nil)
                }
            return try client.userinfo(accessToken: accessToken)
        }
    }

    @Test("a token endpoint that drops the connection gets two requests, no more", arguments: Grant.allCases)
    func droppedTokenCall(_ grant: Grant) throws {
        try fake.control("/_reset", [:])
        try fake.control("/_mode", ["token": "drop"])
        let client = upstream()
        guard case .failure(let failure) = try exchange(grant, client) else {
            Issue.record("a dropped connection must fail")
            return
        }
        #expect(try fake.calls("/oauth/token").count == 2)
        #expect(client.attempts == 2 && failure.status == nil)
        #expect(
            failure.description.hasPrefix("token endpoint: network error") && failure.description.hasSuffix("(after one retry)"),
            "\(failure)")
    }

    @Test("a /userinfo that drops the kept-alive connection gets two requests, no more", arguments: Grant.allCases)
    func droppedUserinfoCall(_ grant: Grant) throws {
        try fake.control("/_reset", [:])
        try fake.control("/_mode", ["userinfo": "drop"])
        let client = upstream()
        guard case .failure(let failure) = try exchange(grant, client) else {
            Issue.record("a dropped connection must fail")
            return
        }
        #expect(try fake.calls("/oauth/token").count == 1)
        #expect(try fake.calls("/userinfo").count == 2, "libcurl's resend on a fresh connection is the one retry")
        #expect(client.attempts == 3 && failure.description.hasPrefix("userinfo: network error"), "\(failure)")
    }

    @Test("a 5xx from /userinfo is retried once on a fresh connection and then answers")
    func flakyUserinfo() throws {
        try fake.control("/_reset", [:])
        try fake.control("/_mode", ["userinfo": "flaky"])
        let client = upstream()
        let profile = try exchange(.refresh, client).get()
        #expect(profile.sub.hasPrefix("auth0|sw") && client.attempts == 3)
        #expect(try fake.calls("/userinfo").count == 2)
    }

    @Test("a timeout that spends the budget is not retried, for either grant", arguments: Grant.allCases)
    func timeoutSpendsTheBudget(_ grant: Grant) throws {
        try fake.control("/_reset", [:])
        try fake.control("/_mode", ["token": "slow"])
        let client = upstream(.milliseconds(400))
        let started = Date()
        guard case .failure(let failure) = try exchange(grant, client) else {
            Issue.record("a slow upstream must fail")
            return
        }
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(try fake.calls("/oauth/token").count == 1 && client.attempts == 1)
        #expect(failure.description == "token endpoint: timed out within the 400 ms upstream timeout (no time left to retry)", "\(failure)")
    }

    /// A user and a refresh token the fake binds to `clientId` (as Auth0 binds a token to its application).
    func boundToken(_ clientId: String) throws -> (token: String, sub: String) {
        let user = try fake.addUser()
        let token = "up_rt_" + UUID().uuidString
        try fake.control("/_refresh_tokens", ["token": .string(token), "sub": .string(user.sub), "client_id": .string(clientId)])
        return (token, user.sub)
    }

    @Test("a public application redeems its own token with no secret; another client's token is invalid_grant, not a refused client")
    func publicApplicationAndBinding() throws {
        try fake.control("/_reset", [:])
        let native = "native-" + UUID().uuidString
        try fake.control("/_clients", ["client_id": .string(native)])
        let (own, sub) = try boundToken(native)
        let accessToken = try upstream().refreshGrant(own, clientId: native, secret: nil, scope: nil, audience: nil, forwardedFor: nil)
        #expect(try upstream().userinfo(accessToken: accessToken).sub == sub)
        #expect(try fake.calls("/oauth/token").last?["body"]?.objectValue?["client_secret"] == nil)

        let (other, _) = try boundToken("upstream-client")
        let refused = #expect(throws: UpstreamAuth0.Failure.self) {
            try self.upstream().refreshGrant(other, clientId: native, secret: nil, scope: nil, audience: nil, forwardedFor: nil)
        }
        #expect(refused?.error == "invalid_grant" && refused?.status == 403 && refused?.refusesTheClient == false)
        // The token is still its own client's.
        _ = try upstream().refreshGrant(
            other, clientId: "upstream-client", secret: FakeUpstream.secret, scope: nil, audience: nil, forwardedFor: nil)
    }

    @Test("an application the upstream does not know is a refused client (401 access_denied)")
    func unknownClientIsRefused() throws {
        try fake.control("/_reset", [:])
        let (token, _) = try boundToken("upstream-client")
        let refused = #expect(throws: UpstreamAuth0.Failure.self) {
            try self.upstream().refreshGrant(token, clientId: "nobody", secret: "x", scope: nil, audience: nil, forwardedFor: nil)
        }
        #expect(refused?.status == 401 && refused?.error == "access_denied" && refused?.refusesTheClient == true)
    }

    @Test("HTTP Basic credentials are form-urlencoded before they are joined (RFC 6749 §2.3.1)")
    func basicCredentials() throws {
        try fake.control("/_reset", [:])
        let clientId = "web:app " + UUID().uuidString
        let secret = "s3cr+t/=:%" + UUID().uuidString
        try fake.control("/_clients", ["client_id": .string(clientId), "client_secret": .string(secret)])
        let (token, _) = try boundToken(clientId)
        _ = try upstream().refreshGrant(
            token, clientId: clientId, secret: secret, basic: true, scope: nil, audience: nil, forwardedFor: nil)
        let body = try #require(try fake.calls("/oauth/token").last?["body"]?.objectValue)
        #expect(body["client_id"] == nil && body["client_secret"] == nil)
    }

    @Test("a call capped at one request is not retried after a dropped connection")
    func cappedCallIsNotRetried() throws {
        try fake.control("/_reset", [:])
        try fake.control("/_mode", ["token": "drop"])
        let (token, _) = try boundToken("upstream-client")
        let client = upstream()
        #expect(throws: UpstreamAuth0.Failure.self) {
            try client.refreshGrant(
                token, clientId: "upstream-client", secret: FakeUpstream.secret, scope: nil, audience: nil, forwardedFor: nil,
                maximumRequests: 1)
        }
        #expect(try fake.calls("/oauth/token").count == 1 && client.attempts == 1)
    }
}
