import FoundationEssentials
import GangwayPlatform

/// Why one user of an import file was refused: Auth0's job-error item (`GET /api/v2/jobs/{id}/errors`), e.g.
/// `{"code": "ENUM_MISMATCH", "message": "Error in custom_password_hash.algorithm property - No enum match for: \"rot13\"", "path": "custom_password_hash.algorithm"}`.
/// A user that fails fails alone: the job goes on with the next one.
public struct UserImportError: Error, Sendable, Equatable, Codable {
    /// One of Auth0's documented codes (`INVALID_TYPE`, `ENUM_MISMATCH`, `OBJECT_REQUIRED`, `PATTERN`, `FORMAT`,
    /// `DUPLICATED_USER`, `CONFLICT`, …).
    public var code: String
    public var message: String
    /// The dotted path of the offending field in the submitted user (`""` for the user as a whole).
    public var path: String

    public init(code: String, message: String, path: String) {
        self.code = code
        self.message = message
        self.path = path
    }

    /// The error as the job's error list shows it.
    public var managementJSON: JSONValue { ["code": .string(code), "message": .string(message), "path": .string(path)] }

    /// The validator's wording, as Auth0's errors show it: `Error in <path> property - <detail>`.
    public static func field(_ code: String, _ path: String, _ detail: String) -> UserImportError {
        UserImportError(code: code, message: "Error in \(path) property - \(detail)", path: path)
    }

    /// A required property is missing: `OBJECT_REQUIRED`, "Missing required property: <name>".
    public static func missing(_ parent: String, _ name: String) -> UserImportError {
        let path = parent.isEmpty ? name : parent + "." + name
        return UserImportError(code: "OBJECT_REQUIRED", message: "Missing required property: \(name)", path: path)
    }

    /// A value of the wrong JSON type: `INVALID_TYPE`, "Expected type <expected> but found type <found>".
    public static func type(_ path: String, expected: String, found: JSONValue) -> UserImportError {
        field("INVALID_TYPE", path, "Expected type \(expected) but found type \(found.typeName)")
    }

    /// A value outside its enumeration: `ENUM_MISMATCH`, "No enum match for: <value>".
    public static func notOneOf(_ path: String, _ value: String) -> UserImportError {
        field("ENUM_MISMATCH", path, "No enum match for: \"\(value)\"")
    }

    /// A property the schema does not allow here (`additionalProperties: false`).
    public static func notAllowed(_ parent: String, _ name: String) -> UserImportError {
        let path = parent.isEmpty ? name : parent + "." + name
        return UserImportError(code: "OBJECT_ADDITIONAL_PROPERTIES", message: "Additional properties not allowed: \(name)", path: path)
    }
}
