import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

@Suite("Migration sources and refresh re-mint (pure parts)")
struct MigrationSourceTests {
    @Test func domains() {
        let accepted: [(String, String)] = [
            ("tenant.auth0.com", "tenant.auth0.com"), ("Tenant.EU.Auth0.com", "tenant.eu.auth0.com"),
            ("tenant.auth0.com:8443", "tenant.auth0.com:8443"), ("https://tenant.auth0.com/", "https://tenant.auth0.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"), ("http://localhost:9", "http://localhost:9"),
            ("http://[::1]:9", "http://[::1]:9"),
        ]
        for (raw, normalized) in accepted {
            #expect(MigrationSource.normalizedDomain(raw) == normalized, "\(raw)")
        }
        for raw in [
            "", "http://example.com", "http://10.0.0.1", "ftp://x.com", "https://x.com/path", "x.com?q", "user@x.com", "x.com:0",
            "x.com:65536", "x.com:", "-x.com", "x..com", "x_y.com", "[::2]:9", "[::1]", "https://", "x.com#f", "x com",
        ] {
            #expect(MigrationSource.normalizedDomain(raw) == nil, "\(raw)")
        }
        #expect(MigrationSource.baseURL("tenant.auth0.com") == "https://tenant.auth0.com")
        #expect(MigrationSource.baseURL("http://127.0.0.1:9") == "http://127.0.0.1:9")
    }

    @Test func secretHintsAndMasks() {
        #expect(MigrationSource.hint("0123456789abcdefWXYZ") == "…WXYZ")
        #expect(MigrationSource.hint("short") == "…", "short secrets show nothing")
        for masked in ["***", "********", "…", "••••"] { #expect(MigrationSource.looksMasked(masked)) }
        #expect(!MigrationSource.looksMasked("a-real-secret"))
    }

    @Test func gangwayRefreshTokenFormat() {
        let ours = "v1." + Base64URL.encode(Random.bytes(32))
        #expect(RefreshTokens.isGangwayFormat(ours))
        #expect(!RefreshTokens.isGangwayFormat("v1.nope"))
        #expect(!RefreshTokens.isGangwayFormat("v1." + String(repeating: "A", count: 44)))
        #expect(!RefreshTokens.isGangwayFormat("v1." + String(repeating: "A", count: 42) + "="))
        #expect(!RefreshTokens.isGangwayFormat("up_rt_" + String(repeating: "a", count: 40)))
    }
}
