"""A small test application ("relying party") on loopback that signs users in through Gangway as auth0-spa-js
would for a public SPA client (test code, not Gangway; npm is out of reach here, so auth0-spa-js itself cannot be
installed and this plays its part):

  GET /           a plain page (a logout's returnTo)
  GET /login      state, nonce and a PKCE verifier + S256 challenge, kept by state; 302 to {gateway}/authorize
                  (response_mode=query). Extra authorize parameters ride on /login's query (prompt, max_age,
                  login_hint, screen_hint, ...).
  GET /callback   checks state, redeems the code at {gateway}/oauth/token (no secret: a public client), verifies
                  the ID token with joserfc against {gateway}/.well-known/jwks.json (signature, iss, aud, nonce,
                  exp) and renders <pre id="result">{token response + verified claims}</pre>, or
                  <pre id="error">...</pre>.
  GET /silent     auth0-spa-js's getTokenSilently: a hidden iframe to /authorize?prompt=none&response_mode=web_message,
                  a `message` listener that takes only the gateway's origin and type "authorization_response", the
                  state checked, then a cross-origin fetch() of the token endpoint (form body plus an Auth0-Client
                  header, as auth0-spa-js 2.x sends: so the browser preflights it). The outcome goes into
                  <pre id="silent-result"> as JSON: {"token_response", "nonce"} or {"error", "error_description"};
                  {"error": "timeout"} after 10 s.
  GET /frame?src=URL   a page of this origin that puts URL in an iframe (for the clickjacking check).

`RelyingParty(gateway_base)` starts it on a free loopback port; set `client_id` once the application is
registered (its callbacks and web origins name this RP's URL, so the RP has to exist first).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import free_port

SCOPE = "openid profile email offline_access"
AUTH0_CLIENT = base64.b64encode(json.dumps({"name": "gangway-test-rp", "version": "1.0.0"}).encode()).decode()
SILENT_TIMEOUT_MS = 10_000


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RelyingParty:
    def __init__(self, gateway_base: str, client_id: str | None = None):
        self.gateway = gateway_base.rstrip("/")
        self.client_id = client_id
        self.lock = threading.Lock()
        self.transactions: dict[str, dict] = {}
        self.results: list[dict] = []  # every /callback outcome, newest last
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- addresses --------------------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        assert self._server is not None, "the RP is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def callback(self) -> str:
        return self.base + "/callback"

    @property
    def gateway_origin(self) -> str:
        return origin_of(self.gateway)

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> "RelyingParty":
        handler = type("RPHandler", (_Handler,), {"rp": self})
        for _ in range(20):
            try:
                self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("the relying party found no free port")
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="relying-party", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "RelyingParty":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the protocol -----------------------------------------------------------------------------------------
    def new_transaction(self, extra: dict | None = None, **fixed) -> tuple[str, dict]:
        """A fresh state/nonce/PKCE transaction, remembered by state; returns (authorize URL, transaction)."""
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code", "response_mode": "query", "client_id": self.client_id, "redirect_uri": self.callback,
            "scope": SCOPE, "state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256",
            **fixed, **(extra or {}),
        }
        transaction = {"state": state, "nonce": nonce, "code_verifier": verifier, "redirect_uri": self.callback, "params": params}
        with self.lock:
            self.transactions[state] = transaction
        url = self.gateway + "/authorize?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        return url, transaction

    def discovery(self) -> dict:
        r = requests.get(self.gateway + "/.well-known/openid-configuration", timeout=10)
        r.raise_for_status()
        return r.json()

    def verify_id_token(self, id_token: str, nonce: str | None) -> dict:
        """joserfc: the signature against the gateway's JWKS, then iss, aud, exp, iat (and nonce when one was sent)."""
        jwks = requests.get(self.gateway + "/.well-known/jwks.json", timeout=10)
        jwks.raise_for_status()
        token = jwt.decode(id_token, KeySet.import_key_set(jwks.json()), algorithms=["RS256"])
        options = {
            "iss": {"essential": True, "value": self.discovery()["issuer"]},
            "aud": {"essential": True, "value": self.client_id},
            "exp": {"essential": True}, "iat": {"essential": True}, "sub": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        jwt.JWTClaimsRegistry(leeway=5, **options).validate(token.claims)
        return dict(token.claims)

    def redeem(self, code: str, transaction: dict) -> requests.Response:
        return requests.post(self.gateway + "/oauth/token", timeout=15, data={
            "grant_type": "authorization_code", "client_id": self.client_id, "code": code,
            "code_verifier": transaction["code_verifier"], "redirect_uri": transaction["redirect_uri"],
        })

    def finish(self, query: dict) -> dict:
        """The /callback: the outcome as {"token_response", "claims", "state"} or {"error", "error_description"}."""
        state = query.get("state")
        with self.lock:
            transaction = self.transactions.pop(state, None) if state else None
        if transaction is None:
            return {"error": "invalid_state", "error_description": f"unknown or reused state {state!r}", "query": query}
        if "error" in query:
            return {"error": query["error"], "error_description": query.get("error_description"), "state": state}
        if "code" not in query:
            return {"error": "no_code", "error_description": "the callback has neither code nor error", "query": query}
        answer = self.redeem(query["code"], transaction)
        try:
            body = answer.json()
        except ValueError:
            return {"error": "token_endpoint", "error_description": f"{answer.status_code}: {answer.text[:500]}"}
        if answer.status_code != 200:
            return {"error": body.get("error", "token_endpoint"), "error_description": body.get("error_description"),
                    "status": answer.status_code}
        try:
            claims = self.verify_id_token(body["id_token"], transaction["nonce"])
        except Exception as failure:  # noqa: BLE001 - any verification failure is the page's answer
            return {"error": "invalid_id_token", "error_description": f"{type(failure).__name__}: {failure}", "token_response": body}
        return {"token_response": body, "claims": claims, "state": state}

    def silent_page(self) -> str:
        url, transaction = self.new_transaction(prompt="none", response_mode="web_message")
        config = {
            "authorizeUrl": url, "gatewayOrigin": self.gateway_origin, "tokenUrl": self.gateway + "/oauth/token",
            "state": transaction["state"], "nonce": transaction["nonce"], "codeVerifier": transaction["code_verifier"],
            "clientId": self.client_id, "redirectUri": transaction["redirect_uri"], "auth0Client": AUTH0_CLIENT,
            "timeoutMs": SILENT_TIMEOUT_MS,
        }
        return SILENT_PAGE.replace("__CONFIG__", json.dumps(config).replace("</", "<\\/"))


SILENT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>silent</title></head>
<body>
<pre id="silent-result"></pre>
<script>
(function () {
  const config = __CONFIG__;
  const out = document.getElementById("silent-result");
  let done = false;
  function finish(value) {
    if (done) return;
    done = true;
    window.removeEventListener("message", onMessage);
    if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
    out.textContent = JSON.stringify(value);
  }
  const iframe = document.createElement("iframe");
  iframe.setAttribute("width", "0");
  iframe.setAttribute("height", "0");
  iframe.style.display = "none";
  const timer = setTimeout(() => finish({error: "timeout", error_description: "no authorization_response"}), config.timeoutMs);
  async function onMessage(event) {
    // auth0-spa-js's runIframe: only the authorization server's origin, only its message type.
    if (event.origin !== config.gatewayOrigin) return;
    if (!event.data || event.data.type !== "authorization_response") return;
    clearTimeout(timer);
    const response = event.data.response || {};
    if (response.state !== config.state) {
      return finish({error: "state_mismatch", error_description: "state " + JSON.stringify(response.state), response});
    }
    if (response.error) {
      return finish({error: response.error, error_description: response.error_description || null});
    }
    try {
      const answer = await fetch(config.tokenUrl, {
        method: "POST",
        headers: {"Content-Type": "application/x-www-form-urlencoded", "Auth0-Client": config.auth0Client},
        body: new URLSearchParams({
          grant_type: "authorization_code", client_id: config.clientId, code: response.code,
          code_verifier: config.codeVerifier, redirect_uri: config.redirectUri,
        }),
      });
      const body = await answer.json();
      if (!answer.ok) return finish({error: body.error || "token_endpoint", error_description: body.error_description || null, status: answer.status});
      finish({token_response: body, nonce: config.nonce});
    } catch (failure) {
      // A CORS refusal surfaces here as a TypeError ("Failed to fetch").
      finish({error: "fetch_failed", error_description: String(failure)});
    }
  }
  window.addEventListener("message", onMessage);
  iframe.src = config.authorizeUrl;
  document.body.appendChild(iframe);
})();
</script>
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    rp: RelyingParty  # set on the subclass

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: str = "", headers: dict | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.send_header("cache-control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        parts = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path == "/":
            return self._send(200, "<!doctype html><title>rp</title><h1 id='home'>Relying party</h1>"
                                   f"<pre id='query'>{html.escape(json.dumps(query))}</pre>")
        if parts.path == "/login":
            url, _ = self.rp.new_transaction(extra=query)
            return self._send(302, "", {"location": url})
        if parts.path == "/callback":
            outcome = self.rp.finish(query)
            with self.rp.lock:
                self.rp.results.append(outcome)
            if "error" in outcome:
                return self._send(200, f"<!doctype html><title>callback</title><pre id=\"error\">{html.escape(json.dumps(outcome))}</pre>")
            return self._send(200, f"<!doctype html><title>callback</title><pre id=\"result\">{html.escape(json.dumps(outcome))}</pre>")
        if parts.path == "/silent":
            return self._send(200, self.rp.silent_page())
        if parts.path == "/frame":
            src = html.escape(query.get("src", ""), quote=True)
            return self._send(200, "<!doctype html><title>frame</title>"
                                   f"<iframe id=\"framed\" src=\"{src}\" width=\"600\" height=\"500\"></iframe>")
        return self._send(404, "<!doctype html><title>not found</title>")
