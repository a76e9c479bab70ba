import GangwayAuth0
import Mustache

/// The hosted login page's HTML: one swift-mustache template (every `{{value}}` HTML-escaped), a form that works
/// without JavaScript and that password managers understand (`autocomplete="username"` / `"current-password"`,
/// labels, one POST, a real navigation afterwards).
enum LoginPage {
    struct Content {
        var applicationName: String
        var state: String
        var csrf: String
        var username: String
        var error: String?
        /// Where the login ends up after its redirects: the application's callback.
        var redirectURI: String
    }

    static let template = try! MustacheTemplate(
        string: """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Log in | {{applicationName}}</title>
            <style nonce="{{nonce}}">
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#1f2937;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
            main{background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:40px;max-width:360px;width:100%}
            h1{font-size:24px;font-weight:400;margin:0 0 8px;text-align:center}p.lead{margin:0 0 24px;text-align:center;color:#4b5563}
            label{display:block;font-size:14px;margin:16px 0 6px}input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:12px;border:1px solid #c9cace;border-radius:4px;font-size:16px}
            button{margin-top:24px;width:100%;padding:14px;border:0;border-radius:4px;background:#635dff;color:#fff;font-size:16px;cursor:pointer}
            .error{margin-top:16px;padding:10px 12px;border-radius:4px;background:#fdecea;color:#b3261e;font-size:14px}
            </style>
            </head>
            <body>
            <main>
            <h1>Welcome</h1>
            <p class="lead">Log in to continue to {{applicationName}}.</p>
            <form method="post" action="/u/login?state={{state}}" id="login-form">
            <input type="hidden" name="state" value="{{state}}">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="username">Email address or username</label>
            <input type="text" id="username" name="username" value="{{username}}" autocomplete="username" autocapitalize="none" spellcheck="false" inputmode="email" required autofocus>
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required>
            {{#error}}<div id="error-message" class="error" role="alert">{{error}}</div>{{/error}}
            <button type="submit" name="action" value="default">Continue</button>
            </form>
            </main>
            </body>
            </html>
            """)

    /// The page, with Content-Security-Policy (nothing from other origins; its one style block by nonce),
    /// `X-Frame-Options: DENY`, `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
    static func render(_ content: Content, status: Int = 200) -> GatewayResponse {
        let nonce = Random.token(bytes: 16)
        var values: [String: Any] = [
            "applicationName": content.applicationName, "state": content.state, "csrf": content.csrf, "username": content.username,
            "nonce": nonce,
        ]
        if let error = content.error { values["error"] = error }
        return GatewayResponse(
            statusCode: status,
            headers: BrowserPage.headers(nonce: nonce, formAction: BrowserPage.formAction(endingAt: content.redirectURI)),
            body: template.render(values))
    }
}
