import GangwayPlatform

/// The pages /authorize and logout answer a browser with, when they answer with a page rather than a redirect:
/// an error page, the auto-submitting `form_post` page and the `web_message` page, each small and fixed, written
/// with `HTMLText`'s escaping (the person-facing login page uses templates: `functions/login`).
///
/// Every page carries a Content-Security-Policy with a fresh nonce for its own inline script and style and nothing
/// from another origin, `Cache-Control: no-store` and `Referrer-Policy: no-referrer`, and refuses to be framed —
/// except the web_message page, which exists to be framed by the application's registered origin.
public enum BrowserPage {
    /// The headers of a page; `frameAncestors` nil: no framing at all (also `X-Frame-Options: DENY`).
    public static func headers(nonce: String, frameAncestors: String? = nil, formAction: String = "'self'") -> [String: String] {
        var headers = [
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "pragma": "no-cache",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
            "content-security-policy":
                "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; img-src 'self' data:; "
                + "form-action \(formAction); base-uri 'none'; frame-ancestors \(frameAncestors ?? "'none'")",
        ]
        if frameAncestors == nil { headers["x-frame-options"] = "DENY" }
        return headers
    }

    /// CSP `form-action` for a page whose form ends, through redirects, at `redirectURI`: browsers apply
    /// form-action to every redirect after a form submission, so the callback's origin (or a native app's custom
    /// scheme) must be listed beside `'self'`.
    public static func formAction(endingAt redirectURI: String) -> String {
        if let origin = CallbackURLs.origin(of: redirectURI) { return "'self' \(origin)" }
        let scheme = redirectURI.prefix { $0 != ":" }
        let plain = !scheme.isEmpty && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
        return plain && scheme.count < redirectURI.count ? "'self' \(scheme):" : "'self'"
    }

    static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#1f2937;margin:0;\
        display:flex;min-height:100vh;align-items:center;justify-content:center}main{background:#fff;border-radius:8px;\
        box-shadow:0 1px 4px rgba(0,0,0,.12);padding:32px 40px;max-width:420px;width:100%}h1{font-size:20px;margin:0 0 12px}\
        p{line-height:1.5}code{font-size:13px;color:#6b7280}
        """

    static func document(title: String, nonce: String, body: String, script: String? = nil) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTMLText.escape(title))</title><style nonce="\(nonce)">\(style)</style></head>
        <body>\(body)\(script.map { "<script nonce=\"\(nonce)\">\($0)</script>" } ?? "")</body></html>
        """
    }

    /// An error shown instead of redirecting (no trustworthy callback): Auth0's generic page shows the error code,
    /// its description and a tracking id.
    public static func error(status: Int, error: String, description: String, trackingId: String) -> GatewayResponse {
        let nonce = Random.token(bytes: 16)
        let body = """
            <main><h1>Oops!, something went wrong</h1><p id="error-code"><strong>\(HTMLText.escape(error))</strong></p>\
            <p id="error-description">\(HTMLText.escape(description))</p><p><code>TRACKING ID: \(HTMLText.escape(trackingId))</code></p></main>
            """
        return GatewayResponse(
            statusCode: status, headers: headers(nonce: nonce), body: document(title: "Error", nonce: nonce, body: body))
    }

    /// `error` (a refusal below 500) as the error page.
    public static func error(_ error: HTTPError, trackingId: String) -> GatewayResponse {
        self.error(status: error.status, error: error.code, description: error.message, trackingId: trackingId)
    }

    /// A redirect (302, or 303 after a form post) that is never cached and sends no Referer onwards.
    public static func redirect(_ location: String, status: Int = 302) -> GatewayResponse {
        GatewayResponse(
            statusCode: status, headers: ["location": location, "cache-control": "no-store", "referrer-policy": "no-referrer"])
    }

    /// A plain message page (e.g. "You are logged out").
    public static func message(title: String, text: String, status: Int = 200) -> GatewayResponse {
        let nonce = Random.token(bytes: 16)
        let body = "<main><h1>\(HTMLText.escape(title))</h1><p id=\"message\">\(HTMLText.escape(text))</p></main>"
        return GatewayResponse(statusCode: status, headers: headers(nonce: nonce), body: document(title: title, nonce: nonce, body: body))
    }

    /// `response_mode=form_post` (OAuth 2.0 Form Post Response Mode): a form the browser POSTs to the callback at
    /// once; a button for browsers without JavaScript.
    public static func formPost(to action: String, _ parameters: [(String, String)]) -> GatewayResponse {
        let nonce = Random.token(bytes: 16)
        let inputs = parameters.map { "<input type=\"hidden\" name=\"\(HTMLText.escape($0.0))\" value=\"\(HTMLText.escape($0.1))\">" }
        let body = """
            <main><form method="post" action="\(HTMLText.escape(action))">\(inputs.joined())\
            <noscript><p>Your browser does not run scripts: press the button to continue.</p><button type="submit">Continue</button></noscript>\
            </form></main>
            """
        let origin = CallbackURLs.origin(of: action) ?? "'none'"
        return GatewayResponse(
            statusCode: 200, headers: headers(nonce: nonce, formAction: origin),
            body: document(title: "Submit This Form", nonce: nonce, body: body, script: "document.forms[0].submit();"))
    }

    /// `response_mode=web_message`: posts `{type: "authorization_response", response}` to the opener or parent
    /// window at exactly `origin` (never `*`), as auth0-spa-js expects; framable by that origin only.
    public static func webMessage(to origin: String, _ response: [String: JSONValue]) -> GatewayResponse {
        let nonce = Random.token(bytes: 16)
        let message: JSONValue = ["type": "authorization_response", "response": .object(response)]
        let json = HTMLText.scriptSafeJSON((try? JSON.string(message)) ?? "{}")
        let target = HTMLText.scriptSafeJSON((try? JSON.string(JSONValue.string(origin))) ?? "\"\"")
        let script = "(function(){var w=window.opener||window.parent;w.postMessage(\(json),\(target));})();"
        return GatewayResponse(
            statusCode: 200, headers: headers(nonce: nonce, frameAncestors: origin),
            body: document(title: "Authorization Response", nonce: nonce, body: "", script: script))
    }
}
