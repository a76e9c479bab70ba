import FoundationEssentials
import GangwayPlatform

extension User {
    /// The user as Auth0's Management API returns it. Never carries the password hash.
    /// `blocked` appears only when the user is blocked (Auth0 omits the attribute until an administrator sets it).
    public var managementJSON: JSONValue {
        var out: [String: JSONValue] = [
            "user_id": .string(userId),
            "email_verified": .bool(emailVerified),
            "created_at": .string(ManagementDate.string(createdAt)),
            "updated_at": .string(ManagementDate.string(updatedAt)),
            "logins_count": .int(Int64(loginsCount)),
            "identities": .array(identities.map(\.managementJSON)),
            "user_metadata": .object(userMetadata),
            "app_metadata": .object(appMetadata),
        ]
        out.merge(profileFields) { _, profile in profile }
        out["last_login"] = lastLogin.map { .string(ManagementDate.string($0)) }
        if blocked { out["blocked"] = true }
        return .object(out)
    }
}

extension User.Identity {
    /// `{connection, user_id, provider, isSocial, profileData?}` as Auth0 spells an identity.
    public var managementJSON: JSONValue {
        var out: [String: JSONValue] = [
            "connection": .string(connection), "user_id": .string(userId), "provider": .string(provider),
            "isSocial": .bool(isSocial),
        ]
        out["profileData"] = profileData.map(JSONValue.object)
        return .object(out)
    }
}
