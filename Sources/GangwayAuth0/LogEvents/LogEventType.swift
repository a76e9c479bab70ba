import GangwayPlatform

/// The tenant log event types Gangway writes, by Auth0's codes (Auth0's "Log Event Type Codes"; `spm` is
/// Gangway's own, for a lazy password migration). Operators' dashboards and log streams filter on these
/// codes, so each is exactly Auth0's.
public enum LogEventType: String, Codable, Sendable, CaseIterable {
    /// `s`: Success Login.
    case successLogin = "s"
    /// `ss`: Success Signup (the hosted page's sign-up form).
    case successSignup = "ss"
    /// `fs`: Failed Signup.
    case failedSignup = "fs"
    /// `fp`: Failed Login (incorrect password).
    case failedLoginWrongPassword = "fp"
    /// `fu`: Failed Login (invalid email/username).
    case failedLoginUnknownUser = "fu"
    /// `fepft`: Failed Exchange of Password for Access Token (any other password-grant failure).
    case failedPasswordExchange = "fepft"
    /// `limit_wc`: Blocked Account (too many consecutive failed logins).
    case blockedAccount = "limit_wc"
    /// `spm`: Successful password migration from an upstream Auth0 (Gangway's; written before the `s`).
    case successPasswordMigration = "spm"
    /// `sertft`: Successful exchange of Refresh Token for Access Token.
    case successRefreshTokenExchange = "sertft"
    /// `fertft`: Failed exchange of Refresh Token for Access Token.
    case failedRefreshTokenExchange = "fertft"
    /// `ferrt`: Failed exchange of a rotating refresh token: a reused one (its family is revoked).
    case refreshTokenReused = "ferrt"
    /// `srrt`: Success Revocation of a refresh token (`POST /oauth/revoke`).
    case successRevocation = "srrt"
    /// `seccft`: Successful exchange of Client Credentials for Access Token.
    case successClientCredentialsExchange = "seccft"
    /// `feccft`: Failed exchange of Client Credentials for Access Token.
    case failedClientCredentialsExchange = "feccft"
    /// `ssa`: Success Silent Auth (`prompt=none` answered from the browser session).
    case successSilentAuth = "ssa"
    /// `fsa`: Failed Silent Auth (`prompt=none` without a usable session: `login_required`, `consent_required`).
    case failedSilentAuth = "fsa"
    /// `seacft`: Success Exchange, Authorization Code for Access Token.
    case successCodeExchange = "seacft"
    /// `feacft`: Failed Exchange, Authorization Code for Access Token.
    case failedCodeExchange = "feacft"
    /// `slo`: Success Logout.
    case successLogout = "slo"
    /// `flo`: Failed Logout (a logout refused: an unlisted returnTo, a bad id_token_hint).
    case failedLogout = "flo"
    /// `depnote`: Deprecation Notice (a legacy endpoint was called; once per hour per application and endpoint).
    case deprecationNotice = "depnote"
    /// `sapi`: Success API Operation (a Management API write).
    case successAPIOperation = "sapi"
    /// `fapi`: Failed API Operation.
    case failedAPIOperation = "fapi"
    /// `sui`: Success Users Import (an import job completed; its summary in the details).
    case successUsersImport = "sui"
    /// `fui`: Failed Users Import (an import job failed as a whole: unreadable file, gone connection, timeout).
    case failedUsersImport = "fui"
}
