import GangwayAuth0
import Mustache

/// The hosted login page's HTML: one swift-mustache template (every `{{value}}` HTML-escaped), a form that works
/// without JavaScript and that password managers understand (`autocomplete="username"` / `"current-password"`,
/// labels, one POST, a real navigation afterwards).
enum LoginPage {
    enum Screen { case login, signup }

    struct Content {
        var screen: Screen
        var applicationName: String
        var state: String
        var csrf: String
        var username: String
        var error: String?
        /// Whether the connection takes sign-ups (the login form then links to the sign-up form).
        var signUpAllowed: Bool
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
            .alt{margin:24px 0 0;text-align:center;font-size:14px}a{color:#635dff}
            .error{margin-top:16px;padding:10px 12px;border-radius:4px;background:#fdecea;color:#b3261e;font-size:14px}
            </style>
            </head>
            <body>
            <main>
            <h1>{{heading}}</h1>
            <p class="lead">{{lead}} {{applicationName}}.</p>
            <form method="post" action="/u/{{screen}}?state={{state}}" id="{{screen}}-form">
            <input type="hidden" name="state" value="{{state}}">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="username">{{usernameLabel}}</label>
            <input type="text" id="username" name="username" value="{{username}}" autocomplete="username" autocapitalize="none" spellcheck="false" inputmode="email" required autofocus>
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="{{passwordAutocomplete}}" required>
            {{#error}}<div id="error-message" class="error" role="alert">{{error}}</div>{{/error}}
            <button type="submit" name="action" value="default">Continue</button>
            </form>
            {{#alternative}}<p class="alt">{{prompt}} <a id="{{id}}" href="/u/{{screen}}?state={{state}}">{{label}}</a></p>{{/alternative}}
            </main>
            </body>
            </html>
            """)

    /// The page, with Content-Security-Policy (nothing from other origins; its one style block by nonce),
    /// `X-Frame-Options: DENY`, `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
    static func render(_ content: Content, status: Int = 200) -> GatewayResponse {
        let nonce = Random.token(bytes: 16)
        let login = content.screen == .login
        var values: [String: Any] = [
            "applicationName": content.applicationName, "state": content.state, "csrf": content.csrf, "username": content.username,
            "nonce": nonce, "screen": login ? "login" : "signup", "heading": login ? "Welcome" : "Create your account",
            "lead": login ? "Log in to continue to" : "Sign up to continue to",
            "usernameLabel": login ? "Email address or username" : "Email address",
            // Password managers offer a saved password on a login form and a new one on a sign-up form.
            "passwordAutocomplete": login ? "current-password" : "new-password",
        ]
        if login && content.signUpAllowed {
            values["alternative"] = [
                "prompt": "Don't have an account?", "id": "signup-link", "label": "Sign up", "screen": "signup",
                "state": content.state,
            ]
        } else if !login {
            values["alternative"] = [
                "prompt": "Already have an account?", "id": "login-link", "label": "Log in", "screen": "login",
                "state": content.state,
            ]
        }
        if let error = content.error { values["error"] = error }
        return GatewayResponse(
            statusCode: status,
            headers: BrowserPage.headers(nonce: nonce, formAction: BrowserPage.formAction(endingAt: content.redirectURI)),
            body: template.render(values))
    }
}
