import FoundationEssentials
import GangwayPlatform

/// The settings `POST` and `PATCH /api/v2/clients` take, validated as Auth0 validates them (400 `invalid_body`
/// naming the property). Absent fields are nil; a PATCH changes exactly the fields it names.
public struct ClientSettings: Sendable {
    public var name: String?
    public var description: String?
    public var kind: Application.Kind?
    public var isFirstParty: Bool?
    public var callbacks: [String]?
    public var allowedLogoutURLs: [String]?
    public var webOrigins: [String]?
    public var allowedOrigins: [String]?
    public var grantTypes: [GrantType]?
    public var authMethod: Application.AuthMethod?
    public var idTokenLifetime: Int?
    public var refreshToken: [String: JSONValue]?
    public var clientMetadata: [String: String]?

    static let fields: Set<String> = [
        "name", "description", "app_type", "is_first_party", "callbacks", "allowed_logout_urls", "web_origins",
        "allowed_origins", "grant_types", "token_endpoint_auth_method", "jwt_configuration", "refresh_token", "client_metadata",
    ]

    /// Grant types Auth0 lets an application list (Gangway stores them all; `/oauth/token` implements `GrantType.supported`).
    static let knownGrantTypes = [
        "authorization_code", "implicit", "refresh_token", "client_credentials", "password",
        "http://auth0.com/oauth/grant-type/password-realm", "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange", "urn:openid:params:grant-type:ciba",
        "http://auth0.com/oauth/grant-type/mfa-oob", "http://auth0.com/oauth/grant-type/mfa-otp",
        "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    ]

    /// `atLeastOne`: a PATCH that names nothing is a 400, as Auth0 answers it.
    public init(_ payload: Payload, extra: Set<String> = [], atLeastOne: Bool = false) throws(HTTPError) {
        try payload.allowOnly(Self.fields.union(extra))
        if atLeastOne, payload.fields.isEmpty {
            throw Payload.error("Payload validation error: 'Too few properties defined (0), minimum 1'.")
        }
        name = try payload.string("name", maxLength: 128) ?? nil
        description = try payload.string("description", minLength: 0, maxLength: 140) ?? nil
        kind = try payload.oneOf("app_type", Application.Kind.allCases.map(\.rawValue)).flatMap(Application.Kind.init(rawValue:))
        isFirstParty = try payload.bool("is_first_party")
        callbacks = try Self.urls(payload, "callbacks")
        allowedLogoutURLs = try Self.urls(payload, "allowed_logout_urls")
        webOrigins = try Self.urls(payload, "web_origins")
        allowedOrigins = try Self.urls(payload, "allowed_origins")
        if let grants = try payload.strings("grant_types", maxCount: 20, maxLength: 100) {
            if let unknown = grants.first(where: { !Self.knownGrantTypes.contains($0) }) {
                throw Payload.error("Payload validation error: 'No enum match for: \"\(unknown)\"' on property grant_types.")
            }
            grantTypes = grants.map(GrantType.init(rawValue:))
        }
        authMethod = try payload.oneOf("token_endpoint_auth_method", Application.AuthMethod.allCases.map(\.rawValue))
            .flatMap(Application.AuthMethod.init(rawValue:))
        if let jwt = try payload.object("jwt_configuration") {
            let nested = Payload(fields: jwt)
            try nested.allowOnly(Self.jwtConfigurationFields)
            _ = try nested.bool("secret_encoded")
            if let alg = try nested.string("alg") ?? nil, alg != "RS256" {
                throw Payload.error("Payload validation error: 'Only RS256 is supported' on property jwt_configuration.alg.")
            }
            idTokenLifetime = try nested.integer("lifetime_in_seconds", range: 1...2_592_000)
        }
        if let refresh = try payload.object("refresh_token") {
            try Self.validateRefreshToken(refresh)
            refreshToken = refresh
        }
        if let metadata = try payload.object("client_metadata") {
            guard metadata.count <= 10 else {
                throw Payload.error(
                    "Payload validation error: 'Too many properties (\(metadata.count)), maximum 10' on property client_metadata.")
            }
            var strings: [String: String] = [:]
            for (key, value) in metadata {
                guard key.count <= 255 else {
                    throw Payload.error("Payload validation error: 'Invalid value' on property client_metadata.")
                }
                strings[key] = try Payload.string(value, named: key, minLength: 0, maxLength: 255)
            }
            clientMetadata = strings
        }
    }

    /// A list of URLs (callbacks, origins): strings without control characters.
    static func urls(_ payload: Payload, _ key: String) throws(HTTPError) -> [String]? {
        guard let urls = try payload.strings(key) else { return nil }
        if let index = urls.firstIndex(where: { $0.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } }) {
            throw Payload.error("Payload validation error: 'String contains control characters' on property \(key)[\(index)].")
        }
        return urls
    }

    /// The members of `jwt_configuration` and `refresh_token` an application may set.
    static let jwtConfigurationFields: Set<String> = ["lifetime_in_seconds", "alg", "secret_encoded"]
    static let refreshTokenFields: Set<String> = [
        "rotation_type", "expiration_type", "leeway", "token_lifetime", "idle_token_lifetime", "infinite_token_lifetime",
        "infinite_idle_token_lifetime",
    ]

    /// Auth0's `refresh_token` object: its enums, bounds and booleans.
    static func validateRefreshToken(_ settings: [String: JSONValue]) throws(HTTPError) {
        let nested = Payload(fields: settings)
        try nested.allowOnly(refreshTokenFields)
        _ = try nested.oneOf("rotation_type", ["rotating", "non-rotating"])
        _ = try nested.oneOf("expiration_type", ["expiring", "non-expiring"])
        _ = try nested.integer("leeway", range: 0...60)
        _ = try nested.integer("token_lifetime", range: 1...31_557_600)
        _ = try nested.integer("idle_token_lifetime", range: 1...31_557_600)
        _ = try nested.bool("infinite_token_lifetime")
        _ = try nested.bool("infinite_idle_token_lifetime")
    }

    /// Writes the named settings into `application`.
    public func apply(to application: inout Application) {
        if let name { application.name = name }
        if let description { application.description = description }
        if let kind { application.kind = kind }
        if let isFirstParty { application.isFirstParty = isFirstParty }
        if let callbacks { application.callbacks = callbacks }
        if let allowedLogoutURLs { application.allowedLogoutURLs = allowedLogoutURLs }
        if let webOrigins { application.webOrigins = webOrigins }
        if let allowedOrigins { application.allowedOrigins = allowedOrigins }
        if let grantTypes { application.grantTypes = grantTypes }
        if let authMethod { application.authMethod = authMethod }
        if let idTokenLifetime { application.idTokenLifetime = idTokenLifetime }
        if let refreshToken {
            application.refreshToken = (application.refreshToken ?? [:]).merging(refreshToken) { _, new in new }
        }
        if let clientMetadata { application.clientMetadata = clientMetadata }
    }
}

/// `POST /api/v2/clients`: the settings, plus — Gangway's import extension, for a token holding
/// `create:client_keys` — the `client_id` and `client_secret` the application had on Auth0.
public struct NewClient: Sendable {
    public var settings: ClientSettings
    public var clientId: String?
    public var clientSecret: String?

    public init(_ payload: Payload, mayImportKeys: Bool) throws(HTTPError) {
        settings = try ClientSettings(payload, extra: ["client_id", "client_secret"])
        try payload.require("name")
        clientId = try payload.string("client_id", maxLength: 128) ?? nil
        clientSecret = try payload.string("client_secret", minLength: 16, maxLength: 512) ?? nil
        if clientId != nil || clientSecret != nil {
            guard mayImportKeys else {
                throw HTTPError(
                    403, "insufficient_scope", "Setting client_id or client_secret needs create:client_keys (Gangway's import extension).")
            }
        }
        if let clientId, !clientId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            throw Payload.error("Payload validation error: 'Only letters, digits, - _ and . are allowed' on property client_id.")
        }
        if let clientSecret, !clientSecret.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) {
            throw Payload.error("Payload validation error: 'Only printable ASCII without spaces is allowed' on property client_secret.")
        }
    }

    /// The application as it will be stored: Auth0's defaults for what the body leaves out.
    public func application() -> Application {
        let kind = settings.kind ?? .regularWeb
        var application = Application(
            clientId: clientId ?? Random.identifier(length: 32), name: settings.name ?? "", kind: kind, secretHash: nil,
            grantTypes: Self.defaultGrantTypes(kind), createdAt: .now)
        application.authMethod = kind == .spa || kind == .native ? Application.AuthMethod.none : .clientSecretPost
        application.isFirstParty = true
        application.callbacks = []
        application.allowedLogoutURLs = []
        application.webOrigins = []
        application.allowedOrigins = []
        application.clientMetadata = [:]
        // Imported from Auth0: the upstream knows it under this id (and this secret), which the refresh re-mint uses.
        if clientId != nil {
            application.clientIdImported = true
            if clientSecret != nil { application.secretImported = true }
        }
        settings.apply(to: &application)
        return application
    }

    /// Auth0's defaults for an application created without `grant_types`.
    static func defaultGrantTypes(_ kind: Application.Kind) -> [GrantType] {
        switch kind {
        case .machineToMachine: [.clientCredentials]
        case .spa, .native: [.authorizationCode, GrantType("implicit"), .refreshToken]
        case .regularWeb: [.authorizationCode, GrantType("implicit"), .refreshToken, .clientCredentials]
        }
    }
}

extension Application {
    /// The application as `/api/v2/clients` answers it; `secret` only where Auth0 shows it (creation, rotation,
    /// a `read:client_keys` token). Settings the record predates show what Gangway does for it.
    public func managementJSON(secret: String?, tenant: Tenant) -> JSONValue {
        var json: [String: JSONValue] = [
            "client_id": .string(clientId), "name": .string(name), "app_type": .string(kind.rawValue),
            "is_first_party": .bool(isFirstParty ?? true), "oidc_conformant": true, "global": false,
            "callbacks": .array((callbacks ?? []).map(JSONValue.string)),
            "allowed_logout_urls": .array((allowedLogoutURLs ?? []).map(JSONValue.string)),
            "web_origins": .array((webOrigins ?? []).map(JSONValue.string)),
            "allowed_origins": .array((allowedOrigins ?? []).map(JSONValue.string)),
            "grant_types": .array(grantTypes.map { .string($0.rawValue) }),
            "token_endpoint_auth_method": .string(effectiveAuthMethod.rawValue),
            "jwt_configuration": [
                "alg": "RS256", "secret_encoded": false,
                "lifetime_in_seconds": .int(Int64(idTokenLifetime ?? tenant.settings.idTokenLifetime)),
            ],
            "refresh_token": .object(RefreshPolicy.settings(of: self, tenant: tenant)),
            "client_metadata": .object((clientMetadata ?? [:]).mapValues(JSONValue.string)),
        ]
        if let description { json["description"] = .string(description) }
        if let secret { json["client_secret"] = .string(secret) }
        return .object(json)
    }
}

extension ManagementCall {
    public static let noSuchClient = HTTPError(404, "inexistent_client", "Client not found")

    public func applications(_ configuration: Configuration) -> ApplicationDirectory {
        ApplicationDirectory(store: store, tenant: tenant, secrets: try? SecretBox(configuration: configuration))
    }

    /// The token may read secrets back (Auth0's `read:client_keys`).
    public var readsClientKeys: Bool { token.scopes.contains("read:client_keys") }

    public func client(_ id: String?, in directory: ApplicationDirectory) async throws -> Application {
        guard let id, !id.isEmpty, let application = try await directory.get(id) else { throw Self.noSuchClient }
        return application
    }

    /// `GET /api/v2/clients`: filters `app_type` (comma-separated) and `is_first_party`, offset paging.
    public func clientList(_ request: FunctionRequest, _ directory: ApplicationDirectory) async throws -> GatewayResponse {
        let paging = try Paging(request)
        let kinds = request.query("app_type").flatMap {
            $0.isEmpty ? nil : $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        if let kinds, let unknown = kinds.first(where: { Application.Kind(rawValue: $0) == nil }) {
            throw Paging.queryError("Query validation error: 'No enum match for: \"\(unknown)\"' on property app_type.")
        }
        let firstParty = try Paging.boolean(request, "is_first_party")
        var page = PageCollector<JSONValue>(start: paging.page * paging.perPage, count: paging.perPage)
        for application in try await directory.all() {
            if let kinds, !kinds.contains(application.kind.rawValue) { continue }
            if let firstParty, (application.isFirstParty ?? true) != firstParty { continue }
            page.add {
                application.managementJSON(secret: readsClientKeys ? directory.secret(of: application) : nil, tenant: tenant)
            }
        }
        return try paging.response(key: "clients", items: page.items, total: page.total)
    }
}
