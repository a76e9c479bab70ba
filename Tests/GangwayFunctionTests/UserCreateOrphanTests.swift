import Foundation
import GangwayAuth0
import Testing

@testable import users

/// A NUL byte in `username` or `user_id` used to orphan the email: the login index was claimed, then the store
/// refused the NUL key half-way. Whatever the answer (a refusal at the edge, or the store's), nothing may be left
/// behind and the email must still be registrable.
@Suite("Users: no orphan logins")
struct UserCreateOrphanTests {
    @Test("POST /api/v2/users with a NUL byte in username or user_id leaves the email free")
    func nulBytesLeaveNoOrphan() async throws {
        let env = try await InProcessTenant()
        let token = try await env.managementToken("create:users")
        let attempts: [JSONValue] = [
            [
                "connection": .string(Connection.defaultName), "email": "nul@orphan.test", "username": "bad\u{0}name",
                "password": "Corr3ct-Horse!",
            ],
            [
                "connection": .string(Connection.defaultName), "email": "nul@orphan.test", "user_id": "x\u{0}y",
                "password": "Corr3ct-Horse!",
            ],
        ]
        for body in attempts {
            let answer = try await env.call(UsersFunction(), "POST", "/api/v2/users", token: token, json: body)
            #expect(answer.status != 201, "\(answer.body)")
            #expect(try await StoreInvariants(store: env.store).check() == [])
            #expect(
                try await UserDirectory(store: env.store, tenant: env.tenant).find(
                    connection: Connection.defaultName, login: "nul@orphan.test") == nil)
        }
        _ = try await env.createUser("nul@orphan.test")
        #expect(try await StoreInvariants(store: env.store).check() == [])
    }
}
