/// One `Set-Cookie` a function answers with (RFC 6265bis), and the request's cookies by name.
///
/// Cookies are host-only (no `Domain` attribute: a cookie for the login host never reaches sibling hosts) and
/// HttpOnly by default; `Secure` and `SameSite=None` only make sense over https, so callers decide from their
/// issuer's scheme.
public struct SetCookie: Sendable, Equatable {
    public enum SameSite: String, Sendable {
        case strict = "Strict"
        case lax = "Lax"
        case none = "None"
    }

    public var name: String
    public var value: String
    public var path = "/"
    /// Seconds; nil: a session cookie (gone when the browser closes); 0: delete it now.
    public var maxAge: Int64?
    public var secure: Bool
    public var httpOnly = true
    /// nil: no SameSite attribute at all (the `auth0_compat` cookie's point: browsers that reject `None`).
    public var sameSite: SameSite?

    public init(name: String, value: String, path: String = "/", maxAge: Int64? = nil, secure: Bool, sameSite: SameSite?) {
        self.name = name
        self.value = value
        self.path = path
        self.maxAge = maxAge
        self.secure = secure
        self.sameSite = sameSite
    }

    /// The same cookie, expired: how a cookie is deleted (its name, path and attributes must match the one set).
    public var deletion: SetCookie {
        var gone = self
        gone.value = ""
        gone.maxAge = 0
        return gone
    }

    /// The header value. Values are Gangway's own tokens (base64url), never user input, so they need no quoting.
    public var headerValue: String {
        var parts = ["\(name)=\(value)", "Path=\(path)"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if httpOnly { parts.append("HttpOnly") }
        if secure { parts.append("Secure") }
        if let sameSite { parts.append("SameSite=\(sameSite.rawValue)") }
        return parts.joined(separator: "; ")
    }
}

extension FunctionRequest {
    /// The value of the request cookie `name` (the first, when a browser sent it twice), nil when absent.
    public func cookie(_ name: String) -> String? {
        for pair in event.cookies ?? [] {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            if pair[..<eq].drop(while: { $0 == " " }) == name { return String(pair[pair.index(after: eq)...]) }
        }
        return nil
    }
}
