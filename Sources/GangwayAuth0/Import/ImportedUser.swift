import FoundationEssentials
import GangwayPlatform

/// One user of an import file, checked against Auth0's user-import schema (`additionalProperties: false`, only
/// `email` required). Every problem of the user is reported, each with the path of its field; a user with any
/// problem is not imported and the job goes on.
public struct ImportedUser: Sendable {
    public var email: String
    /// Nil when the file does not say (a new user is then unverified, an upserted one keeps its value).
    public var emailVerified: Bool?
    /// The id after `auth0|`, as the file gives it: Auth0 always prefixes the strategy, so an unstripped Auth0
    /// export (`auth0|abc`) becomes `auth0|auth0|abc` here too. Strip the prefix to keep Auth0's ids.
    public var userId: String?
    public var username: String?
    public var givenName: String?
    public var familyName: String?
    public var name: String?
    public var nickname: String?
    public var picture: String?
    public var blocked: Bool?
    public var appMetadata: [String: JSONValue]?
    public var userMetadata: [String: JSONValue]?
    /// A bcrypt `password_hash`, kept as the user's own hash.
    public var passwordHash: String?
    /// A `custom_password_hash`: verified at the first login, then replaced by Gangway's own bcrypt hash.
    public var customPasswordHash: ImportedPasswordHash?

    static let fields: Set<String> = [
        "email", "email_verified", "user_id", "username", "given_name", "family_name", "name", "nickname", "picture", "blocked",
        "app_metadata", "user_metadata", "password_hash", "custom_password_hash", "mfa_factors",
    ]

    /// `app_metadata` keys Auth0 reserves.
    static let reservedAppMetadata: Set<String> = [
        "__tenant", "_id", "blocked", "clientID", "created_at", "email_verified", "email", "globalClientID", "global_client_id",
        "identities", "lastIP", "lastLogin", "loginsCount", "metadata", "multifactor_last_modified", "multifactor", "updated_at",
        "user_id",
    ]

    /// A user of the file, or every reason it cannot be imported.
    public enum Validation: Sendable {
        case valid(ImportedUser)
        case invalid([UserImportError])
    }

    /// Validates one element of the file. `mfa_factors` are checked for shape and then dropped: Gangway has no MFA
    /// (README), and a factor it cannot challenge must not look enrolled.
    public static func parse(_ value: JSONValue) -> Validation {
        guard let object = value.objectValue else {
            return .invalid([.type("", expected: "object", found: value)])
        }
        var errors: [UserImportError] = []
        for key in object.keys.sorted() where !fields.contains(key) { errors.append(.notAllowed("", key)) }

        func string(_ key: String, max: Int, min: Int = 1) -> String? {
            guard let v = object[key], !v.isNull else { return nil }
            guard let s = v.stringValue else {
                errors.append(.type(key, expected: "string", found: v))
                return nil
            }
            if s.count < min {
                errors.append(.field("MIN_LENGTH", key, "String is too short (\(s.count) chars), minimum \(min)"))
                return nil
            }
            if s.count > max {
                errors.append(.field("MAX_LENGTH", key, "String is too long (\(s.count) chars), maximum \(max)"))
                return nil
            }
            return s
        }
        func bool(_ key: String) -> Bool? {
            guard let v = object[key], !v.isNull else { return nil }
            guard let b = v.boolValue else {
                errors.append(.type(key, expected: "boolean", found: v))
                return nil
            }
            return b
        }
        func metadata(_ key: String) -> [String: JSONValue]? {
            guard let v = object[key], !v.isNull else { return nil }
            guard let o = v.objectValue else {
                errors.append(.type(key, expected: "object", found: v))
                return nil
            }
            return o
        }

        var email: String?
        if object["email"] == nil || object["email"]?.isNull == true {
            errors.append(.missing("", "email"))
        } else if let e = string("email", max: 254) {
            if Payload.isEmail(e), (try? User.checkLoginName(e)) != nil {
                email = e
            } else {
                errors.append(.field("FORMAT", "email", "Object didn't pass validation for format email: \(e)"))
            }
        }
        var user = ImportedUser(email: email ?? "")
        user.emailVerified = bool("email_verified")
        user.blocked = bool("blocked")
        if let id = string("user_id", max: 255) {
            if id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                errors.append(.field("PATTERN", "user_id", "String contains control characters"))
            } else {
                user.userId = id
            }
        }
        if let name = string("username", max: 128) {
            if name.contains(where: { $0.isWhitespace || $0.isNewline }) || (try? User.checkLoginName(name)) == nil {
                errors.append(.field("FORMAT", "username", "Object didn't pass validation for format username: \(name)"))
            } else {
                user.username = name
            }
        }
        user.givenName = string("given_name", max: 150)
        user.familyName = string("family_name", max: 150)
        user.name = string("name", max: 300)
        user.nickname = string("nickname", max: 300)
        user.picture = string("picture", max: 2048)
        user.userMetadata = metadata("user_metadata")
        if let app = metadata("app_metadata") {
            let reserved = app.keys.filter(reservedAppMetadata.contains).sorted()
            if let key = reserved.first {
                errors.append(.field("NOT_PASSED", "app_metadata.\(key)", "\(key) is a reserved property of app_metadata"))
            } else {
                user.appMetadata = app
            }
        }

        let plain = object["password_hash"].flatMap { $0.isNull ? nil : $0 }
        let custom = object["custom_password_hash"].flatMap { $0.isNull ? nil : $0 }
        if plain != nil && custom != nil {
            errors.append(
                UserImportError(
                    code: "CONFLICT", message: "password_hash and custom_password_hash cannot both be set", path: "custom_password_hash"))
        } else if let plain {
            do { user.passwordHash = try ImportedPasswordHash.parseBcrypt(plain) } catch { errors.append(error) }
        } else if let custom {
            do { user.customPasswordHash = try ImportedPasswordHash.parse(custom) } catch { errors.append(error) }
        }
        if let factors = object["mfa_factors"], !factors.isNull { errors += checkFactors(factors) }

        return errors.isEmpty ? .valid(user) : .invalid(errors)
    }

    /// `mfa_factors`: 1–10 items, each exactly one of `totp {secret}`, `phone {value}`, `email {value}`.
    static func checkFactors(_ value: JSONValue) -> [UserImportError] {
        guard let items = value.arrayValue else { return [.type("mfa_factors", expected: "array", found: value)] }
        if items.isEmpty { return [.field("ARRAY_LENGTH_SHORT", "mfa_factors", "Array is too short (0), minimum 1")] }
        if items.count > 10 { return [.field("ARRAY_LENGTH_LONG", "mfa_factors", "Array is too long (\(items.count)), maximum 10")] }
        for (i, item) in items.enumerated() {
            let path = "mfa_factors[\(i)]"
            guard let o = item.objectValue, o.count == 1, let (kind, body) = o.first, ["totp", "phone", "email"].contains(kind) else {
                return [.field("ANY_OF_MISSING", path, "Data does not match any schemas from 'oneOf'")]
            }
            let field = kind == "totp" ? "secret" : "value"
            guard let s = body[field]?.stringValue, !s.isEmpty else { return [.missing("\(path).\(kind)", field)] }
        }
        return []
    }

    /// The submitted user as the job's error list shows it: every secret (hash values, HMAC keys, salts, MFA
    /// secrets) replaced by `*****`, as Auth0 does.
    public static func redacted(_ value: JSONValue) -> JSONValue {
        guard var object = value.objectValue else { return value }
        if object["password_hash"] != nil { object["password_hash"] = "*****" }
        if case .object(var custom) = object["custom_password_hash"] {
            if case .object(var hash) = custom["hash"] {
                if hash["value"] != nil { hash["value"] = "*****" }
                if case .object(var key) = hash["key"] {
                    key["value"] = "*****"
                    hash["key"] = .object(key)
                }
                custom["hash"] = .object(hash)
            }
            if case .object(var salt) = custom["salt"] {
                salt["value"] = "*****"
                custom["salt"] = .object(salt)
            }
            object["custom_password_hash"] = .object(custom)
        }
        if case .array(let factors) = object["mfa_factors"] {
            object["mfa_factors"] = .array(
                factors.map { factor in
                    guard case .object(var o) = factor, case .object(var totp) = o["totp"] else { return factor }
                    totp["secret"] = "*****"
                    o["totp"] = .object(totp)
                    return .object(o)
                })
        }
        return .object(object)
    }
}
