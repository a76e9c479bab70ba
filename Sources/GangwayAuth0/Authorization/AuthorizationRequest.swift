import FoundationEssentials
import GangwayPlatform

/// A validated `/authorize` request (OAuth 2.0 §4.1.1, OIDC Core §3.1.2.1, RFC 7636), as Auth0's SDKs send it.
/// It is what a login transaction carries through the hosted login page and what `/authorize/resume` answers.
/// Parameters Auth0 accepts but Gangway ignores (`display`, `acr_values`, `claims`, `auth0Client`, …) are not kept.
public struct AuthorizationRequest: Codable, Sendable, Equatable {
    public var clientId: String
    /// The callback the answer goes to (matched against the application's callbacks).
    public var redirectURI: String
    /// Whether the request named it: then the token request must repeat it (RFC 6749 §4.1.3).
    public var redirectURISent: Bool
    public var responseType: ResponseType
    public var responseMode: ResponseMode
    /// The scopes granted (`ScopePolicy.user` of what was asked).
    public var scopes: [String]
    public var audience: String?
    public var state: String?
    public var nonce: String?
    /// RFC 7636: the S256 challenge (the only method Gangway takes).
    public var codeChallenge: String?
    public var prompt: Set<String>
    public var maxAge: Int?
    public var loginHint: String?
    /// `signup` opens the sign-up form.
    public var screenHint: String?
    public var connection: String?
    /// Stored for the page; not used to translate it (yet).
    public var uiLocales: String?

    /// `response_type`, compared as a set: `code`, or the implicit `id_token`, `token`, `token id_token`.
    public struct ResponseType: Codable, Sendable, Equatable, CustomStringConvertible {
        public var code = false
        public var idToken = false
        public var token = false

        /// The four combinations Gangway answers; the hybrid ones (`code id_token`, …) are refused.
        public static let supported = ["code", "id_token", "token", "token id_token"]

        public init?(_ raw: String) {
            let parts = raw.split(separator: " ").map(String.init)
            guard !parts.isEmpty, Set(parts).count == parts.count else { return nil }
            for part in parts {
                switch part {
                case "code": code = true
                case "id_token": idToken = true
                case "token": token = true
                default: return nil
                }
            }
            if code && (idToken || token) { return nil }
        }

        /// Whether tokens come straight back from /authorize (the implicit grant).
        public var isImplicit: Bool { idToken || token }
        public var description: String {
            [code ? "code" : nil, token ? "token" : nil, idToken ? "id_token" : nil].compactMap(\.self).joined(separator: " ")
        }
    }

    public enum ResponseMode: String, Codable, Sendable, CaseIterable {
        case query, fragment
        case formPost = "form_post"
        case webMessage = "web_message"
    }
}

/// Why an `/authorize` request cannot go on, and where the browser learns it.
public enum AuthorizationFailure: Error, Sendable {
    /// No trustworthy callback (unknown client, a redirect_uri not registered…): an error page, never a redirect
    /// (RFC 6749 §4.1.2.1), so Gangway cannot be used as an open redirector.
    case page(status: Int, error: String, description: String)
    /// Everything else goes back to the validated callback with `error`, `error_description` and `state`.
    case redirect(AuthorizationRequest, error: String, description: String)
}

extension AuthorizationRequest {
    /// Reads and validates a request, in the order that decides where errors go: client, then callback (errors
    /// before these are pages), then the rest (errors redirect). `parameters` are the query's (GET) or the form's
    /// (POST); a parameter given twice is refused (RFC 6749 §3.1).
    public static func parse(
        _ parameters: [(String, String)], application: (String) async throws -> Application?, api: (String) async throws -> ResourceServer?,
        tenant: Tenant
    ) async throws -> AuthorizationRequest {
        var values: [String: String] = [:]
        var repeated: String?
        for (name, value) in parameters {
            if values[name] != nil { repeated = repeated ?? name }
            values[name] = value
        }
        func value(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

        guard let clientId = value("client_id") else {
            throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "Missing required parameter: client_id")
        }
        if repeated == "client_id" || repeated == "redirect_uri" {
            throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "Duplicate parameter: \(repeated!)")
        }
        guard let app = try await application(clientId) else {
            throw AuthorizationFailure.page(status: 400, error: "invalid_request", description: "Unknown client: \(clientId)")
        }
        let callbacks = CallbackURLs(app.callbacks ?? [], wildcards: app.isFirstParty ?? true)
        let redirectURI: String
        switch callbacks.resolve(value("redirect_uri")) {
        case .use(let uri): redirectURI = uri
        case .missing:
            throw AuthorizationFailure.page(
                status: 400, error: "invalid_request",
                description: "Missing required parameter: redirect_uri (the application has no single default callback URL)")
        case .notAllowed:
            throw AuthorizationFailure.page(
                status: 400, error: "invalid_request",
                description: "The redirect_uri \"\(values["redirect_uri"] ?? "")\" is not in the list of allowed callback URLs.")
        }

        // From here on errors go back to the callback, in the mode asked for when it is a known one.
        let type = value("response_type").flatMap(ResponseType.init)
        var request = AuthorizationRequest(
            clientId: clientId, redirectURI: redirectURI, redirectURISent: value("redirect_uri") != nil,
            responseType: type ?? ResponseType("code")!,
            responseMode: value("response_mode").flatMap(ResponseMode.init(rawValue:)) ?? (type?.isImplicit == true ? .fragment : .query),
            scopes: [], audience: value("audience"), state: values["state"], nonce: value("nonce"), codeChallenge: nil, prompt: [],
            maxAge: nil, loginHint: value("login_hint"), screenHint: value("screen_hint"), connection: value("connection"),
            uiLocales: value("ui_locales")
        )
        func refuse(_ error: String, _ description: String) -> AuthorizationFailure {
            .redirect(request, error: error, description: description)
        }
        // web_message posts the answer to the callback's origin: it must be a registered web origin, else nothing
        // is posted anywhere (an error page, as Auth0).
        if request.responseMode == .webMessage {
            let origins = CallbackURLs(app.webOrigins ?? [], wildcards: app.isFirstParty ?? true)
            guard let origin = CallbackURLs.origin(of: redirectURI), origins.allowsOrigin(origin) else {
                throw AuthorizationFailure.page(
                    status: 400, error: "invalid_request",
                    description: "The specified redirect_uri \"\(redirectURI)\" does not have a registered origin (Allowed Web Origins).")
            }
        }

        if let repeated { throw refuse("invalid_request", "Duplicate parameter: \(repeated)") }
        if let mode = value("response_mode"), ResponseMode(rawValue: mode) == nil {
            throw refuse("invalid_request", "Unsupported response_mode: \(mode)")
        }
        guard let rawType = value("response_type") else { throw refuse("invalid_request", "Missing required parameter: response_type") }
        guard let type else { throw refuse("unsupported_response_type", "Unsupported response type: \(rawType)") }
        if type.isImplicit {
            guard app.grantTypes.contains(.implicit) else {
                throw refuse("unauthorized_client", "Grant type 'implicit' not allowed for the client.")
            }
            // Tokens in a query string end up in logs and Referer headers.
            guard request.responseMode != .query else {
                throw refuse("unsupported_response_mode", "Unsupported response_mode 'query' for response_type '\(type)'")
            }
            guard request.nonce != nil else { throw refuse("invalid_request", "Missing required parameter: nonce") }
        } else if !app.grantTypes.contains(.authorizationCode) {
            throw refuse("unauthorized_client", "Grant type 'authorization_code' not allowed for the client.")
        }
        if value("request") != nil { throw refuse("request_not_supported", "The request parameter is not supported.") }
        if value("request_uri") != nil { throw refuse("request_uri_not_supported", "The request_uri parameter is not supported.") }

        // PKCE (RFC 7636): S256 only; a public client must use it for the code flow.
        let challenge = value("code_challenge")
        let method = value("code_challenge_method")
        if challenge == nil, method != nil { throw refuse("invalid_request", "Missing required parameter: code_challenge") }
        if let challenge {
            guard (method ?? "plain") == "S256" else {
                throw refuse("invalid_request", "Unsupported code_challenge_method: \(method ?? "plain") (only S256 is supported)")
            }
            guard PKCE.isWellFormed(challenge) else {
                throw refuse("invalid_request", "Parameter 'code_challenge' must be 43 to 128 characters of [A-Za-z0-9-._~].")
            }
            request.codeChallenge = challenge
        } else if type.code, app.effectiveAuthMethod == .none {
            throw refuse("invalid_request", "Missing required parameter: code_challenge (public clients must use PKCE)")
        }

        let prompt = Set((value("prompt") ?? "").split(separator: " ").map(String.init))
        guard prompt.isSubset(of: ["none", "login", "consent", "select_account"]) else {
            throw refuse("invalid_request", "Unsupported prompt: \(value("prompt")!)")
        }
        guard !prompt.contains("none") || prompt.count == 1 else {
            throw refuse("invalid_request", "prompt=none cannot be combined with other prompt values")
        }
        request.prompt = prompt
        if let raw = value("max_age") {
            guard let seconds = Int(raw), seconds >= 0 else { throw refuse("invalid_request", "Invalid max_age: \(raw)") }
            request.maxAge = seconds
        }

        var resource: ResourceServer?
        if let audience = request.audience {
            guard let found = try await api(audience) else { throw refuse("access_denied", "Service not found: \(audience)") }
            resource = found
        }
        request.scopes = ScopePolicy.user(
            requested: value("scope").map(Scopes.parse), api: resource, tenant: tenant, client: app)
        return request
    }
}
