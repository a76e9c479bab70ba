"""A fake upstream Auth0 tenant on loopback, for the lazy-migration tests (test code, not Gangway).

It speaks the two calls Gangway makes upstream:
  POST /oauth/token   grant_type=http://auth0.com/oauth/grant-type/password-realm | refresh_token
                      (form or JSON; client_id/client_secret in the body or HTTP Basic)
  GET  /userinfo      Authorization: Bearer <access token it issued>
  GET  /.well-known/jwks.json   the tenant's signing public key (RS256; made on first use), whose tokens `sign` makes
and a control surface for the tests:
  POST /_users           {"username"?, "email", "password", "sub", "realm"?, ...profile}
  POST /_refresh_tokens  {"token", "sub", "client_id"?, "rotate"?: false}   (bound to client_id, default the tenant's client)
  POST /_clients         {"client_id", "client_secret"?}   another application (no secret: a public client)
  POST /_mode            {"token": MODE, "userinfo": MODE, "delay_ms": N}
                         MODE: ok | 400 | 401 | 403 | 429 | 500 | 503 | mfa_required | unauthorized_client
                               | malformed | slow | drop (close the connection) | flaky (500 once, then ok)
  GET  /_calls           every call received: [{"path", "body" (password redacted), "headers"}]
  POST /_reset           forget calls and modes (users and tokens stay)

Run standalone (for the Swift tests): `python3 tests/fake_auth0.py` prints `PORT <n>` and serves until its
stdin closes. From pytest: `FakeAuth0()` as a context manager.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


class State:
    def __init__(self, client_id: str = "upstream-client", client_secret: str = "upstream-secret"):
        self.lock = threading.Lock()
        self.client_id = client_id
        self.client_secret = client_secret
        # Every application of the tenant: client_id -> secret (None for a public client, which sends none).
        self.clients: dict[str, str | None] = {client_id: client_secret}
        self.users: list[dict] = []
        self.refresh_tokens: dict[str, dict] = {}
        self.access_tokens: dict[str, str] = {}
        self.calls: list[dict] = []
        self.modes = {"token": "ok", "userinfo": "ok", "delay_ms": 0}
        self.flaky_used: set[str] = set()
        self.signing_key = None  # a joserfc RSAKey, made on first use (2048-bit generation takes a moment)

    def key(self):
        from joserfc.jwk import RSAKey

        with self.lock:
            if self.signing_key is None:
                self.signing_key = RSAKey.generate_key(2048, parameters={"kid": "upstream-" + secrets.token_hex(6), "use": "sig", "alg": "RS256"})
            return self.signing_key

    def user_by_sub(self, sub: str) -> dict | None:
        return next((u for u in self.users if u["sub"] == sub), None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State  # set on the subclass

    def log_message(self, *args):  # quiet
        pass

    # -- plumbing -------------------------------------------------------------------------------
    def _body(self) -> dict:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("content-type") or "").lower()
        if ctype.startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
        try:
            value = json.loads(raw or b"{}")
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}

    def _send(self, status: int, body, headers: dict | None = None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: dict):
        redacted = {k: ("[redacted]" if k in ("password", "client_secret") else v) for k, v in body.items()}
        with self.state.lock:
            self.state.calls.append({"path": self.path, "body": redacted, "headers": {k.lower(): v for k, v in self.headers.items()}})

    def _failure(self, which: str) -> bool:
        """Applies the configured failure mode; True when it answered (or dropped) the request."""
        mode = self.state.modes.get(which, "ok")
        delay = self.state.modes.get("delay_ms", 0)
        if delay:
            time.sleep(delay / 1000)
        if mode == "ok":
            return False
        if mode == "flaky":
            with self.state.lock:
                if which in self.state.flaky_used:
                    return False
                self.state.flaky_used.add(which)
            self._send(500, {"error": "server_error"})
            return True
        if mode == "slow":
            time.sleep(10)
            return False
        if mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if mode == "malformed":
            self._send(200, b"{not json")
            return True
        if mode == "mfa_required":
            self._send(403, {"error": "mfa_required", "error_description": "Multifactor authentication required", "mfa_token": "x"})
            return True
        if mode == "unauthorized_client":
            self._send(403, {"error": "unauthorized_client", "error_description": "Grant type 'password-realm' not allowed for the client."})
            return True
        self._send(int(mode), {"error": "upstream_" + mode, "error_description": "configured failure"})
        return True

    # -- routes ---------------------------------------------------------------------------------
    def do_POST(self):
        body = self._body()
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/_"):
            return self._control(path, body)
        self._record(body)
        if path != "/oauth/token":
            return self._send(404, {"error": "not_found"})
        if self._failure("token"):
            return
        basic = self.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            cid, _, csecret = base64.b64decode(basic[6:]).decode().partition(":")
            cid, csecret = urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(csecret)
        else:
            cid, csecret = body.get("client_id"), body.get("client_secret")
        # Auth0: an unknown client, a wrong secret, or a secret sent by a public client is 401 access_denied.
        if cid not in self.state.clients or (csecret or None) != self.state.clients[cid]:
            return self._send(401, {"error": "access_denied", "error_description": "Unauthorized"})
        grant = body.get("grant_type")
        if grant == PASSWORD_REALM:
            login = (body.get("username") or "").strip().lower()
            user = next(
                (u for u in self.state.users
                 if login in ((u.get("email") or "").lower(), (u.get("username") or "").lower())
                 and u.get("realm", "Username-Password-Authentication") == body.get("realm")),
                None,
            )
            if not user or user["password"] != body.get("password"):
                return self._send(403, {"error": "invalid_grant", "error_description": "Wrong email or password."})
            return self._tokens(user["sub"])
        if grant == "refresh_token":
            with self.state.lock:
                record = self.state.refresh_tokens.get(body.get("refresh_token") or "")
                # Auth0 binds a refresh token to the application it was issued to: another client gets
                # invalid_grant, and the token stays valid (unrotated) for its own client.
                if record and record.get("client_id", self.state.client_id) != cid:
                    record = None
                if record and record.get("rotate"):
                    del self.state.refresh_tokens[body["refresh_token"]]
            if not record:
                return self._send(403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
            return self._tokens(record["sub"])
        return self._send(400, {"error": "unsupported_grant_type"})

    def _tokens(self, sub: str):
        token = "up_at_" + secrets.token_urlsafe(16)
        with self.state.lock:
            self.state.access_tokens[token] = sub
        self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 86400, "scope": "openid profile email"})

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/_calls":
            with self.state.lock:
                return self._send(200, list(self.state.calls))
        self._record({})
        if path == "/.well-known/jwks.json":
            return self._send(200, {"keys": [self.state.key().as_dict(private=False)]})
        if path != "/userinfo":
            return self._send(404, {"error": "not_found"})
        if self._failure("userinfo"):
            return
        auth = self.headers.get("authorization", "")
        sub = self.state.access_tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        user = self.state.user_by_sub(sub) if sub else None
        if not user:
            return self._send(401, {"error": "invalid_token"})
        profile = {k: v for k, v in user.items() if k not in ("password", "realm")}
        self._send(200, profile)

    def _control(self, path: str, body: dict):
        with self.state.lock:
            if path == "/_users":
                self.state.users.append(body)
            elif path == "/_refresh_tokens":
                self.state.refresh_tokens[body["token"]] = body
            elif path == "/_clients":
                self.state.clients[body["client_id"]] = body.get("client_secret")
            elif path == "/_mode":
                self.state.modes.update(body)
                self.state.flaky_used.clear()
            elif path == "/_reset":
                self.state.calls.clear()
                self.state.modes = {"token": "ok", "userinfo": "ok", "delay_ms": 0}
                self.state.flaky_used.clear()
            else:
                return self._send(404, {"error": "not_found"})
        self._send(200, {"ok": True})


class FakeAuth0:
    """The fake tenant on 127.0.0.1:<free port>, in a background thread."""

    def __init__(self, client_id: str = "upstream-client", client_secret: str = "upstream-secret"):
        self.state = State(client_id, client_secret)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeAuth0":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # Conveniences for pytest.
    def add_user(self, **user):
        self.state.users.append(user)

    def add_refresh_token(self, token: str, sub: str, rotate: bool = False, client_id: str | None = None):
        self.state.refresh_tokens[token] = {"token": token, "sub": sub, "rotate": rotate, "client_id": client_id or self.state.client_id}

    def add_client(self, client_id: str, client_secret: str | None = None):
        """Another application of the upstream tenant; without a secret, a public client."""
        with self.state.lock:
            self.state.clients[client_id] = client_secret

    def set_mode(self, **modes):
        self.state.modes.update(modes)
        self.state.flaky_used.clear()

    def sign(self, claims: dict, typ: str = "JWT") -> str:
        """A token signed with the tenant's key, typed as Auth0 types its tokens (`JWT`, access and ID tokens alike)."""
        from joserfc import jwt

        key = self.state.key()
        return jwt.encode({"alg": "RS256", "typ": typ, "kid": key.kid}, claims, key)

    def calls(self, path: str | None = None) -> list[dict]:
        with self.state.lock:
            return [c for c in self.state.calls if path is None or c["path"].startswith(path)]


if __name__ == "__main__":
    with FakeAuth0(*(sys.argv[1:3])) as fake:
        print(f"PORT {fake.port}", flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin
