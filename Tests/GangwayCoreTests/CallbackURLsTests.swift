import Testing

@testable import GangwayAuth0

/// Auth0's URL-list rules: exact redirect_uri matching (RFC 6749 §3.1.2, RFC 9700 §4.1.3), loopback ports (RFC 8252 §7.3),
/// first-party `*` subdomains, returnTo without query, and origins for web_message / CORS.
@Suite("Callback URLs")
struct CallbackURLsTests {
    static let callback = "https://client.example.com/cb"
    let plain = CallbackURLs([Self.callback], wildcards: false)

    // MARK: - Rule 1: exact, case-sensitive comparison

    @Test func registeredCallbackIsAllowed() {
        #expect(plain.allows(Self.callback))
    }

    @Test func hostCaseIsNotTheSameCallback() {
        #expect(!plain.allows("https://CLIENT.EXAMPLE.COM/cb"))
        #expect(!plain.allows("https://Client.example.com/cb"))
    }

    @Test func explicitDefaultPortIsNotTheSameCallback() {
        #expect(!plain.allows("https://client.example.com:443/cb"))
    }

    @Test func schemeCaseIsNotTheSameCallback() {
        #expect(!plain.allows("HTTPS://client.example.com/cb"))
    }

    @Test func trailingSlashIsNotTheSameCallback() {
        #expect(!plain.allows("https://client.example.com/cb/"))
    }

    @Test func dotSegmentsAreNotResolved() {
        #expect(!plain.allows("https://client.example.com/foo/../cb"))
        #expect(!plain.allows("https://client.example.com/./cb"))
    }

    @Test func percentEncodingIsNotDecoded() {
        #expect(!plain.allows("https://client.example.com/%2E%2E/cb"))
        #expect(!plain.allows("https://client.example.com/%63b"))
    }

    @Test func addedQueryIsNotTheSameCallback() {
        #expect(!plain.allows("https://client.example.com/cb?x=1"))
        #expect(!plain.allows("https://client.example.com/cb?"))
    }

    @Test(
        "Near misses of the registered callback",
        arguments: [
            "https://client.example.com/cb ", "http://client.example.com/cb", "https://client.example.com./cb",
            "https://client.example.com/CB", "https://client.example.com/cb/..", "https://evil.example.com/cb",
            "https://client.example.com.evil.com/cb", "https://client.example.com@evil.com/cb", "//client.example.com/cb",
            "/cb", "https://client.example.com", "https://client.example.com/c", "https://client.example.com/cbb",
        ])
    func nearMissesAreRefused(candidate: String) {
        #expect(!plain.allows(candidate))
    }

    @Test func exactRegisteredQueryMatches() {
        let urls = CallbackURLs(["https://c.example.com/cb?foo=bar"], wildcards: false)
        #expect(urls.allows("https://c.example.com/cb?foo=bar"))
    }

    @Test(
        "A registered query must be sent unchanged",
        arguments: [
            "https://c.example.com/cb?foo=baz", "https://c.example.com/cb", "https://c.example.com/cb?foo=bar&x=1",
            "https://c.example.com/cb?x=1&foo=bar", "https://c.example.com/cb?FOO=bar", "https://c.example.com/cb?foo=bar&",
        ])
    func changedMissingOrExtraQueryIsRefused(candidate: String) {
        let urls = CallbackURLs(["https://c.example.com/cb?foo=bar"], wildcards: false)
        #expect(!urls.allows(candidate))
    }

    @Test func canonicallyEquivalentUnicodeIsNotTheSameCallback() {
        // Swift's `==` would call these equal (NFC vs NFD); a redirect target must match byte for byte.
        let urls = CallbackURLs(["https://c.example.com/caf\u{E9}"], wildcards: false)
        #expect(urls.allows("https://c.example.com/caf\u{E9}"))
        #expect(!urls.allows("https://c.example.com/cafe\u{301}"))
    }

    @Test func anyOfSeveralEntriesMatches() {
        let urls = CallbackURLs(["https://a.example.com/cb", "https://b.example.com/cb"], wildcards: false)
        #expect(urls.allows("https://a.example.com/cb"))
        #expect(urls.allows("https://b.example.com/cb"))
        #expect(!urls.allows("https://c.example.com/cb"))
    }

    @Test func emptyListAllowsNothing() {
        #expect(!CallbackURLs([], wildcards: true).allows(Self.callback))
    }

    // MARK: - Rule 2: never-matching candidates

    @Test func fragmentNeverMatchesEvenWhenRegistered() {
        let urls = CallbackURLs(["https://c.example.com/cb#frag", "https://c.example.com/cb"], wildcards: false)
        #expect(!urls.allows("https://c.example.com/cb#frag"))
        #expect(!urls.allows("https://c.example.com/cb#"))
    }

    @Test(
        "Script-bearing schemes never match, even registered literally",
        arguments: [
            "javascript:alert(1)", "JavaScript:alert(1)", "JAVASCRIPT://example.com/%0Aalert(1)", "data:text/html,<script>",
            "DATA:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)", "VBScript:msgbox(1)",
        ])
    func scriptSchemesNeverMatch(url: String) {
        let urls = CallbackURLs([url], wildcards: true)
        #expect(!urls.allows(url))
        #expect(urls.resolve(url) == .notAllowed)
        #expect(urls.resolve(nil) == .missing)
    }

    @Test(
        "Control characters, white space and backslashes never match, even registered literally",
        arguments: [
            "https://c.example.com/c b", "https://c.example.com/cb\n", "https://c.example.com/\tcb", "https://c.example.com/cb\u{0}",
            "https://c.example.com\\@evil.com/cb", "https://c.example.com/cb\u{7F}", "https://c.example.com/cb\u{85}",
            "https://c.example.com/cb\u{A0}", "https://c.example.com/cb\u{2028}", "https://c.example.com/cb\r\nSet-Cookie:x",
        ])
    func unsafeCharactersNeverMatch(url: String) {
        let urls = CallbackURLs([url], wildcards: false)
        #expect(!urls.allows(url))
        #expect(!urls.allowsLogoutReturn(url))
        #expect(CallbackURLs.origin(of: url) == nil)
    }

    @Test func emptyCandidateNeverMatches() {
        let urls = CallbackURLs([""], wildcards: false)
        #expect(!urls.allows(""))
        #expect(!urls.allowsLogoutReturn(""))
        #expect(!urls.allowsOrigin(""))
    }

    // MARK: - Rule 3: custom schemes

    @Test func customSchemeMatchesExactly() {
        let native = "com.example.app://example.auth0.com/ios/com.example.app/callback"
        #expect(CallbackURLs([native], wildcards: false).allows(native))
    }

    @Test(
        "Custom-scheme variants are refused",
        arguments: [
            "COM.EXAMPLE.APP://example.auth0.com/ios/com.example.app/callback",
            "com.example.app://example.auth0.com/ios/com.example.app/callback/",
            "com.example.app://example.auth0.com:443/ios/com.example.app/callback",
            "com.example.app://EXAMPLE.auth0.com/ios/com.example.app/callback",
            "com.example.evil://example.auth0.com/ios/com.example.app/callback",
            "com.example.app://example.auth0.com/ios/com.example.app/callback?code=x",
        ])
    func customSchemeVariantsAreRefused(candidate: String) {
        let native = "com.example.app://example.auth0.com/ios/com.example.app/callback"
        #expect(!CallbackURLs([native], wildcards: true).allows(candidate))
    }

    @Test func customSchemeLoopbackHostGetsNoPortFreedom() {
        let urls = CallbackURLs(["com.example.app://127.0.0.1/cb"], wildcards: false)
        #expect(!urls.allows("com.example.app://127.0.0.1:5000/cb"))
    }

    // MARK: - Rule 4: loopback redirects may use any port

    @Test(
        "A loopback entry accepts any port, or none",
        arguments: [
            ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"), ("http://127.0.0.1:3000/cb", "http://127.0.0.1:51234/cb"),
            ("http://127.0.0.1:3000/cb", "http://127.0.0.1/cb"), ("http://[::1]/cb", "http://[::1]:8080/cb"),
            ("http://[::1]:9/cb", "http://[::1]/cb"), ("http://localhost/cb", "http://localhost:65535/cb"),
            ("http://localhost:3000/cb?app=1", "http://localhost:1/cb?app=1"), ("http://127.0.0.1", "http://127.0.0.1:80"),
        ])
    func loopbackAcceptsAnyPort(entry: String, candidate: String) {
        #expect(CallbackURLs([entry], wildcards: false).allows(candidate))
    }

    @Test func loopbackPathMustMatch() {
        let urls = CallbackURLs(["http://127.0.0.1/cb"], wildcards: false)
        #expect(!urls.allows("http://127.0.0.1:4000/other"))
        #expect(!urls.allows("http://127.0.0.1:4000/cb/"))
        #expect(!urls.allows("http://127.0.0.1:4000"))
    }

    @Test func loopbackQueryMustMatch() {
        let urls = CallbackURLs(["http://localhost/cb?a=1"], wildcards: false)
        #expect(urls.allows("http://localhost:4000/cb?a=1"))
        #expect(!urls.allows("http://localhost:4000/cb?a=2"))
        #expect(!urls.allows("http://localhost:4000/cb"))
    }

    @Test func loopbackSchemeMustMatch() {
        #expect(!CallbackURLs(["http://127.0.0.1/cb"], wildcards: false).allows("https://127.0.0.1:4000/cb"))
        // RFC 8252 loopback redirects are plain http: an https entry keeps its exact port.
        #expect(!CallbackURLs(["https://127.0.0.1/cb"], wildcards: false).allows("https://127.0.0.1:4000/cb"))
    }

    @Test func loopbackHostMustMatch() {
        #expect(!CallbackURLs(["http://127.0.0.1/cb"], wildcards: false).allows("http://localhost:4000/cb"))
        #expect(!CallbackURLs(["http://localhost/cb"], wildcards: false).allows("http://127.0.0.1:4000/cb"))
        #expect(!CallbackURLs(["http://[::1]/cb"], wildcards: false).allows("http://127.0.0.1:4000/cb"))
        #expect(!CallbackURLs(["http://localhost/cb"], wildcards: false).allows("http://LOCALHOST:4000/cb"))
    }

    @Test(
        "Malformed loopback ports are refused",
        arguments: [
            "http://127.0.0.1:/cb", "http://127.0.0.1:abc/cb", "http://127.0.0.1:65536/cb", "http://127.0.0.1:0/cb",
            "http://127.0.0.1:-1/cb", "http://127.0.0.1:+80/cb", "http://127.0.0.1:123456/cb", "http://127.0.0.1:80:80/cb",
        ])
    func malformedLoopbackPortIsRefused(candidate: String) {
        #expect(!CallbackURLs(["http://127.0.0.1/cb"], wildcards: false).allows(candidate))
    }

    @Test func loopbackWithUserInfoIsRefused() {
        let urls = CallbackURLs(["http://127.0.0.1/cb"], wildcards: false)
        #expect(!urls.allows("http://user@127.0.0.1:4000/cb"))
        #expect(!urls.allows("http://evil.com@127.0.0.1:4000/cb"))
    }

    @Test func nonLoopbackHostsKeepTheirPort() {
        #expect(!CallbackURLs(["http://127.0.0.2/cb"], wildcards: false).allows("http://127.0.0.2:4000/cb"))
        #expect(!CallbackURLs(["http://localhost.example.com/cb"], wildcards: false).allows("http://localhost.example.com:4/cb"))
        #expect(!CallbackURLs(["http://app.example.com/cb"], wildcards: false).allows("http://app.example.com:8080/cb"))
    }

    // MARK: - Rule 5: first-party wildcard subdomains

    @Test func wildcardMatchesOneLabel() {
        let urls = CallbackURLs(["https://*.example.com/cb"], wildcards: true)
        #expect(urls.allows("https://foo.example.com/cb"))
        #expect(urls.allows("https://a-1.example.com/cb"))
    }

    @Test(
        "A wildcard stands for exactly one non-empty lower-case label",
        arguments: [
            "https://a.b.example.com/cb", "https://.example.com/cb", "https://example.com/cb", "https://FOO.example.com/cb",
            "https://Foo.example.com/cb", "https://foo_bar.example.com/cb", "https://f%6Fo.example.com/cb",
            "https://foo.example.com.evil.com/cb", "https://evil.com/.example.com/cb", "https://evil.com?.example.com/cb",
            "https://user@foo.example.com/cb", "https://foo.example.com:443/cb", "http://foo.example.com/cb",
            "https://foo.example.com/cb/", "https://foo.example.com/cb?x=1", "https://foo.EXAMPLE.com/cb",
            "https://*.example.com/cb", "https://\(String(repeating: "a", count: 64)).example.com/cb",
        ])
    func wildcardRefusesOtherHosts(candidate: String) {
        #expect(!CallbackURLs(["https://*.example.com/cb"], wildcards: true).allows(candidate))
    }

    @Test func wildcardLabelMayBeSixtyThreeBytes() {
        let label = String(repeating: "a", count: 63)
        #expect(CallbackURLs(["https://*.example.com/cb"], wildcards: true).allows("https://\(label).example.com/cb"))
    }

    @Test func wildcardEntryIsIgnoredWithoutTheFlag() {
        let urls = CallbackURLs(["https://*.example.com/cb"], wildcards: false)
        #expect(!urls.allows("https://foo.example.com/cb"))
        #expect(!urls.allows("https://*.example.com/cb"))
    }

    @Test func wildcardWithPrefixAndSuffix() {
        let urls = CallbackURLs(["https://a-*-b.example.com/cb"], wildcards: true)
        #expect(urls.allows("https://a-x-b.example.com/cb"))
        #expect(urls.allows("https://a-x-y-b.example.com/cb"))
        #expect(!urls.allows("https://a--b.example.com/cb"))
        #expect(!urls.allows("https://a-b.example.com/cb"))
        #expect(!urls.allows("https://x-y-b.example.com/cb"))
        #expect(!urls.allows("https://a-x.y-b.example.com/cb"))
    }

    @Test(
        "Malformed wildcard entries match nothing",
        arguments: [
            ("https://*.com", "https://foo.com"),
            ("https://*/cb", "https://foo/cb"),
            ("https://*", "https://foo"),
            ("https://sub.*.example.com/cb", "https://sub.foo.example.com/cb"),
            ("https://*.*.example.com/cb", "https://a.b.example.com/cb"),
            ("https://**.example.com/cb", "https://foo.example.com/cb"),
            ("https://*.example.com/*", "https://foo.example.com/cb"),
            ("https://*.example.com/cb?x=*", "https://foo.example.com/cb?x=*"),
            ("https://foo.example.com/*", "https://foo.example.com/cb"),
            ("https://*.example.com./cb", "https://foo.example.com./cb"),
            ("https://*..example.com/cb", "https://foo..example.com/cb"),
            ("https://*.Example.com/cb", "https://foo.Example.com/cb"),
            ("https://*_x.example.com/cb", "https://a_x.example.com/cb"),
            ("https://u@*.example.com/cb", "https://u@foo.example.com/cb"),
            ("https://*.example.com:x/cb", "https://foo.example.com:x/cb"),
            ("HTTPS://*.example.com/cb", "HTTPS://foo.example.com/cb"),
            ("ftp://*.example.com/cb", "ftp://foo.example.com/cb"),
            ("com.example.app://*.example.com/cb", "com.example.app://foo.example.com/cb"),
            ("*.example.com", "foo.example.com"),
        ])
    func malformedWildcardEntryMatchesNothing(entry: String, candidate: String) {
        let urls = CallbackURLs([entry], wildcards: true)
        #expect(!urls.allows(candidate))
        #expect(!urls.allows(entry))
    }

    @Test func wildcardComparesPortPathAndQueryExactly() {
        let urls = CallbackURLs(["http://*.example.com:8080/cb?x=1"], wildcards: true)
        #expect(urls.allows("http://foo.example.com:8080/cb?x=1"))
        #expect(!urls.allows("http://foo.example.com:8081/cb?x=1"))
        #expect(!urls.allows("http://foo.example.com/cb?x=1"))
        #expect(!urls.allows("http://foo.example.com:8080/cb"))
        #expect(!urls.allows("https://foo.example.com:8080/cb?x=1"))
    }

    @Test func wildcardEntryWithoutPathMatchesOnlyWithoutPath() {
        let urls = CallbackURLs(["https://*.example.co.uk"], wildcards: true)
        #expect(urls.allows("https://shop.example.co.uk"))
        #expect(!urls.allows("https://shop.example.co.uk/"))
    }

    @Test func wildcardAndPlainEntriesCoexist() {
        let urls = CallbackURLs(["https://*.example.com/cb", "https://other.test/cb"], wildcards: true)
        #expect(urls.allows("https://foo.example.com/cb"))
        #expect(urls.allows("https://other.test/cb"))
    }

    // MARK: - resolve (redirect_uri at /authorize)

    @Test func resolveUsesTheSentURLWhenAllowed() {
        #expect(plain.resolve(Self.callback) == .use(Self.callback))
        let wild = CallbackURLs(["https://*.example.com/cb"], wildcards: true)
        #expect(wild.resolve("https://foo.example.com/cb") == .use("https://foo.example.com/cb"))
    }

    @Test func resolveRefusesAnUnregisteredURL() {
        #expect(plain.resolve("https://evil.example.com/cb") == .notAllowed)
        #expect(plain.resolve("https://client.example.com/cb#x") == .notAllowed)
    }

    @Test func resolveDefaultsToTheOnlyEntry() {
        #expect(plain.resolve(nil) == .use(Self.callback))
        #expect(plain.resolve("") == .use(Self.callback))
    }

    @Test func resolveNeedsRedirectURIWithSeveralEntries() {
        let urls = CallbackURLs(["https://a.example.com/cb", "https://b.example.com/cb"], wildcards: false)
        #expect(urls.resolve(nil) == .missing)
        #expect(urls.resolve("") == .missing)
    }

    @Test func resolveNeedsRedirectURIWithNoEntries() {
        #expect(CallbackURLs([], wildcards: false).resolve(nil) == .missing)
    }

    @Test func resolveNeverDefaultsToAPattern() {
        #expect(CallbackURLs(["https://*.example.com/cb"], wildcards: true).resolve(nil) == .missing)
        #expect(CallbackURLs(["https://*.example.com/cb", Self.callback], wildcards: true).resolve(nil) == .missing)
    }

    @Test func resolveNeverDefaultsToAnEntryItWouldRefuse() {
        #expect(CallbackURLs(["https://c.example.com/cb#frag"], wildcards: false).resolve(nil) == .missing)
    }

    // MARK: - Rule 6: logout returnTo

    @Test func logoutReturnIgnoresQueryAndFragment() {
        let urls = CallbackURLs(["https://app.example.com/bye"], wildcards: false)
        #expect(urls.allowsLogoutReturn("https://app.example.com/bye"))
        #expect(urls.allowsLogoutReturn("https://app.example.com/bye?from=logout"))
        #expect(urls.allowsLogoutReturn("https://app.example.com/bye#top"))
        #expect(urls.allowsLogoutReturn("https://app.example.com/bye?a=1#top"))
    }

    @Test func logoutReturnStillComparesTheRestExactly() {
        let urls = CallbackURLs(["https://app.example.com/bye"], wildcards: false)
        #expect(!urls.allowsLogoutReturn("https://app.example.com/bye/"))
        #expect(!urls.allowsLogoutReturn("https://APP.example.com/bye?x"))
        #expect(!urls.allowsLogoutReturn("https://app.example.com:443/bye"))
        #expect(!urls.allowsLogoutReturn("https://app.example.com/byebye"))
    }

    @Test func logoutEntryIsComparedAsRegistered() {
        // The candidate loses its query, the entry keeps it: an entry with a query can never be a returnTo.
        let urls = CallbackURLs(["https://app.example.com/bye?x=1"], wildcards: false)
        #expect(!urls.allowsLogoutReturn("https://app.example.com/bye?x=1"))
    }

    @Test(
        "Relative or script returnTo values are refused",
        arguments: [
            "/bye", "//app.example.com/bye", "app.example.com/bye", "?x=1", "javascript:alert(1)", "data:text/html,x",
            "vbscript:x", "JavaScript://app.example.com/bye", "https://app.example.com/bye?\\", "https://app.example.com/bye#a b",
        ])
    func logoutReturnRefusesRelativeOrScript(returnTo: String) {
        let urls = CallbackURLs(["/bye", "//app.example.com/bye", "https://app.example.com/bye", returnTo], wildcards: false)
        #expect(!urls.allowsLogoutReturn(returnTo))
    }

    @Test func logoutReturnUsesLoopbackAndWildcardRules() {
        let urls = CallbackURLs(["http://localhost/bye", "https://*.example.com/bye"], wildcards: true)
        #expect(urls.allowsLogoutReturn("http://localhost:3000/bye?x=1"))
        #expect(urls.allowsLogoutReturn("https://shop.example.com/bye#done"))
        #expect(!urls.allowsLogoutReturn("https://a.b.example.com/bye"))
        #expect(!CallbackURLs(["https://*.example.com/bye"], wildcards: false).allowsLogoutReturn("https://shop.example.com/bye"))
    }

    @Test func logoutReturnWithCustomScheme() {
        let urls = CallbackURLs(["com.example.app://logout"], wildcards: false)
        #expect(urls.allowsLogoutReturn("com.example.app://logout?state=1"))
        #expect(!urls.allowsLogoutReturn("com.example.app://logout/"))
    }

    // MARK: - Rule 7: origins

    @Test(
        "origin(of:) lower-cases and drops default ports",
        arguments: [
            ("https://app.example.com/cb?x=1#y", "https://app.example.com"), ("HTTPS://APP.Example.COM", "https://app.example.com"),
            ("https://app.example.com:443/cb", "https://app.example.com"), ("http://app.example.com:80", "http://app.example.com"),
            ("http://app.example.com:443/", "http://app.example.com:443"), ("https://app.example.com:80", "https://app.example.com:80"),
            ("https://app.example.com:8443/x", "https://app.example.com:8443"), ("http://[::1]:3000/cb", "http://[::1]:3000"),
            ("http://[::1]/cb", "http://[::1]"), ("https://user:pw@app.example.com/x", "https://app.example.com"),
            ("https://app.example.com:/cb", "https://app.example.com"), ("https://app.example.com?q", "https://app.example.com"),
            ("https://app.example.com#f", "https://app.example.com"), ("https://app.example.com:0443", "https://app.example.com"),
        ])
    func originOfNormalises(url: String, origin: String) {
        #expect(CallbackURLs.origin(of: url) == origin)
    }

    @Test(
        "origin(of:) is nil for what is not an absolute http(s) URL with a host",
        arguments: [
            "", "/cb", "app.example.com", "//app.example.com", "https:app.example.com", "https://", "https:///cb",
            "https://:443/cb", "https://user@/cb", "ftp://app.example.com", "com.example.app://app.example.com/cb",
            "javascript://app.example.com", "https://app.example.com:x", "https://app.example.com:65536",
            "https://app.example.com:0", "https://b\u{FC}cher.example", "https://app.example.com\\@evil.com",
            "https://[::1", "https://[::1]x/cb", "https://app example.com",
        ])
    func originOfRefuses(url: String) {
        #expect(CallbackURLs.origin(of: url) == nil)
    }

    @Test func originOfAFullCallbackEntryIsAllowed() {
        let urls = CallbackURLs(["https://app.example.com/callback?x=1", "http://localhost:3000/cb"], wildcards: false)
        #expect(urls.allowsOrigin("https://app.example.com"))
        #expect(urls.allowsOrigin("http://localhost:3000"))
    }

    @Test func bareOriginEntryIsAllowed() {
        let urls = CallbackURLs(["https://app.example.com", "https://APP2.example.com:443"], wildcards: false)
        #expect(urls.allowsOrigin("https://app.example.com"))
        #expect(urls.allowsOrigin("https://app2.example.com"))
    }

    @Test(
        "An origin candidate has no path, query, fragment, default port or upper case",
        arguments: [
            "https://app.example.com/", "https://app.example.com/cb", "https://app.example.com?x", "https://app.example.com#x",
            "https://app.example.com:443", "HTTPS://app.example.com", "https://APP.example.com", "https://u@app.example.com",
            "https://app.example.com:", "app.example.com", "null", "",
        ])
    func originCandidateMustBeSerialised(origin: String) {
        #expect(!CallbackURLs(["https://app.example.com/cb"], wildcards: false).allowsOrigin(origin))
    }

    @Test func originsAreExactWithoutLoopbackFreedom() {
        let urls = CallbackURLs(["https://app.example.com/cb", "http://localhost:3000/cb"], wildcards: false)
        #expect(!urls.allowsOrigin("https://app.example.com:8443"))
        #expect(!urls.allowsOrigin("http://app.example.com"))
        #expect(!urls.allowsOrigin("https://evil.example.com"))
        #expect(!urls.allowsOrigin("http://localhost:4000"))
        #expect(!urls.allowsOrigin("http://localhost"))
    }

    @Test func originWithCustomSchemeEntryIsNeverAllowed() {
        let urls = CallbackURLs(["com.example.app://app.example.com/cb"], wildcards: false)
        #expect(!urls.allowsOrigin("com.example.app://app.example.com"))
        #expect(!urls.allowsOrigin("https://app.example.com"))
    }

    @Test func wildcardOriginMatchesOneLabel() {
        let urls = CallbackURLs(["https://*.example.com/cb", "https://*.other.test:443", "https://x-*.ports.test:8443"], wildcards: true)
        #expect(urls.allowsOrigin("https://foo.example.com"))
        #expect(urls.allowsOrigin("https://foo.other.test"))
        #expect(urls.allowsOrigin("https://x-1.ports.test:8443"))
        #expect(!urls.allowsOrigin("https://x-1.ports.test"))
        #expect(!urls.allowsOrigin("https://1.ports.test:8443"))
        #expect(!urls.allowsOrigin("https://a.b.example.com"))
        #expect(!urls.allowsOrigin("https://example.com"))
        #expect(!urls.allowsOrigin("http://foo.example.com"))
        #expect(!urls.allowsOrigin("https://foo.example.com:8443"))
        #expect(!urls.allowsOrigin("https://*.example.com"))
        #expect(!urls.allowsOrigin("https://foo.example.com:443"))
        #expect(!urls.allowsOrigin("https://foo.example.com/"))
        #expect(!urls.allowsOrigin("HTTPS://foo.example.com"))
    }

    @Test func wildcardOriginIsIgnoredWithoutTheFlagOrWhenMalformed() {
        #expect(!CallbackURLs(["https://*.example.com"], wildcards: false).allowsOrigin("https://foo.example.com"))
        #expect(!CallbackURLs(["https://*.example.com"], wildcards: false).allowsOrigin("https://*.example.com"))
        #expect(!CallbackURLs(["https://*.com"], wildcards: true).allowsOrigin("https://foo.com"))
        #expect(!CallbackURLs(["https://sub.*.example.com"], wildcards: true).allowsOrigin("https://sub.foo.example.com"))
    }

    // MARK: - Value semantics

    @Test func equalityIncludesTheWildcardFlag() {
        #expect(CallbackURLs(["a"], wildcards: true) == CallbackURLs(["a"], wildcards: true))
        #expect(CallbackURLs(["a"], wildcards: true) != CallbackURLs(["a"], wildcards: false))
        #expect(CallbackURLs(["a"], wildcards: true).registered == ["a"])
    }
}
