import Foundation
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

@Suite("Provisioning")
struct ProvisioningTests {
    let store = try! Store.open(url: "sqlite:" + FileManager.default.temporaryDirectory.path + "/gangway-prov-\(UUID().uuidString).db")
    let box = try! SecretBox(key: Random.bytes(32))

    @Test("init --domain (and serve on another port) adds hosts to an existing tenant; a host of another tenant is refused")
    func domainsAddedToAnExistingTenant() async throws {
        let provisioning = Provisioning(store: store, secrets: box)
        let first = try await provisioning.initialize(issuer: "http://127.0.0.1:3000/", aliases: ["localhost:3000"])
        #expect(first.created)
        let again = try await provisioning.initialize(issuer: "http://127.0.0.1:3000/", aliases: ["127.0.0.1:4000", "LOGIN.example.com"])
        #expect(!again.created && again.tenant == first.tenant)
        let directory = TenantDirectory(store: store)
        for host in ["127.0.0.1:3000", "localhost:3000", "127.0.0.1:4000", "login.example.com"] {
            #expect(try await directory.tenant(host: host)?.id == first.tenant, "\(host)")
        }
        let tenant = try #require(try await directory.tenant(host: "127.0.0.1:3000"))
        #expect(tenant.domains == ["127.0.0.1:3000", "127.0.0.1:4000", "localhost:3000", "login.example.com"])

        let other = try await provisioning.initialize(issuer: "https://other.example.com/")
        await #expect(throws: Provisioning.Failure.domainTaken("login.example.com")) {
            try await provisioning.initialize(issuer: "https://other.example.com/", aliases: ["login.example.com"])
        }
        #expect(try await directory.tenant(host: "login.example.com")?.id == first.tenant)
        #expect(try await directory.tenant(host: "other.example.com")?.id == other.tenant)
    }
}
