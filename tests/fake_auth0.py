"""A fake upstream Auth0 tenant on loopback, for the lazy-migration tests (test code, not Gangway).

It speaks the two calls Gangway makes upstream:
  POST /oauth/token   grant_type=http://auth0.com/oauth/grant-type/password-realm | refresh_token
                      (form or JSON; client_id/client_secret in the body or HTTP Basic)
  GET  /userinfo      Authorization: Bearer <access token it issued>
  GET  /.well-known/jwks.json   the tenant's signing public key (RS256; made on first use), whose tokens `sign` makes
and the part of the Management API v2 a migration tool reads (Auth0's shapes):
  POST /oauth/token   grant_type=client_credentials, audience=<base>/api/v2/, a management client's credentials
                      -> {"access_token": "mgmt_…", "token_type": "Bearer", "expires_in": 86400, "scope": "…"}
                      401 access_denied (unknown client / wrong secret); 403 access_denied for a wrong or missing
                      audience ("Service not enabled within domain: …") and for an ordinary application with its
                      right secret ("Client is not authorized to access …"). Not affected by the `token` MODE.
  GET  /api/v2/clients           (read:clients | read:client_keys; client_secret only with read:client_keys)
                                 "All Applications" (global: true) first; filters is_global, is_first_party, app_type
  GET  /api/v2/resource-servers  (read:resource_servers) the system "Auth0 Management API" first; filter identifiers
  GET  /api/v2/client-grants     (read:client_grants) filters client_id, audience
  GET  /api/v2/connections       (read:connections) filters strategy (repeatable), name
       every list: page (0-based), per_page (default 50, max 100, else 400 invalid_query_string),
       include_totals=true -> {"<collection>": [...], "start", "limit", "total"} (else a bare array),
       fields=a,b + include_fields=true|false
  POST /api/v2/jobs/users-exports  (read:users) {"connection_id"?, "format"?: "json"|"csv" (Auth0's default: csv),
                                   "fields"?: [{"name", "export_as"?}], "limit"?} -> 201 the job, status pending
  GET  /api/v2/jobs/{id}           (read:users) pending for `export_pending_polls` GETs (default 1), then completed
                                   with "location": "<base>/_exports/<id>.<format>.gz?Expires=…&Signature=…"
  GET  /_exports/<id>.json.gz      no auth (a pre-signed URL): application/gzip, NDJSON, one user a line, the users
                                   as they were when the job completed (csv: a header line of the exported names,
                                   nested values as JSON). No connection_id: every connection's users.
  Every /api/v2 call needs `Authorization: Bearer mgmt_…` (else 401 invalid_token); a token without the route's
  scope is 403 insufficient_scope. Management data (applications, APIs, grants, connections, export users) is
  separate from the password-login users below; the tenant starts with the database connection
  Username-Password-Authentication and no applications (the lazy-migration client is not listed).
and a control surface for the tests:
  POST /_users           {"username"?, "email", "password", "sub", "realm"?, ...profile}
  POST /_refresh_tokens  {"token", "sub", "client_id"?, "rotate"?: false}   (bound to client_id, default the tenant's client)
  POST /_clients         {"client_id", "client_secret"?}   another application (no secret: a public client)
  POST /_mode            {"token": MODE, "userinfo": MODE, "delay_ms": N,
                          "export_pending_polls": N, "mgmt_fail": {"<path prefix>": N | {"times": N, "status": S}}}
                         MODE: ok | 400 | 401 | 403 | 429 | 500 | 503 | mfa_required | unauthorized_client
                               | malformed | slow | drop (close the connection) | flaky (500 once, then ok)
                         mgmt_fail: the next N requests (any route but the controls) whose path starts with the
                         prefix answer S (default 500) with Auth0's error body; 429 adds x-ratelimit-* and retry-after
  POST /_mgmt_clients    {"client_id", "client_secret", "scopes"?: [...] (default: every read scope above), "listed"?: false}
                         a client allowed the client-credentials grant for <base>/api/v2/; listed: true also makes it a
                         listed non_interactive application with its client grant to <base>/api/v2/ (as on a real tenant)
  POST /_applications    {...Auth0 client fields}   Auth0's defaults, random client_id/client_secret unless given
                         (token_endpoint_auth_method "none": no secret); it can also use the grants above, and
                         is enabled on every existing connection
  POST /_apis            {"identifier", "name"?, "scopes"?: [{"value", "description"} | "value"], ...}
  POST /_client_grants   {"client_id", "audience", "scope": [...]}
  POST /_connections     {"name", "strategy"?: "auth0", "display_name"?, "enabled_clients"?, "options"?, ...more options}
  POST /_export_users    {"connection", ...Auth0 user profile, "password"?}   (password: also a /_users login, realm
                         = the connection; an unknown connection is made, strategy auth0)
      (these five answer the created object)
  GET  /_calls           every call received: [{"path", "body" (password redacted), "headers"}]
  POST /_reset           forget calls, modes and injected faults; export_pending_polls back to 1 (users and tokens stay)

Run standalone (for the Swift tests): `python3 tests/fake_auth0.py` prints `PORT <n>` and serves until its
stdin closes. From pytest: `FakeAuth0()` as a context manager.
"""

from __future__ import annotations

import base64
import copy
import csv
import gzip
import hashlib
import io
import json
import secrets
import string
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
# What a management client gets unless told otherwise: every scope the /api/v2 routes here ask for.
MANAGEMENT_SCOPES = ("read:clients", "read:client_keys", "read:resource_servers", "read:client_grants", "read:connections", "read:users")
# Auth0's users-export keys when the job names no fields.
EXPORT_FIELDS = ("user_id", "email", "email_verified", "username", "name", "given_name", "family_name", "nickname", "picture",
                 "created_at", "updated_at", "last_login", "logins_count", "blocked", "user_metadata", "app_metadata", "identities")
# Connection strategies whose identities are not social (Auth0's isSocial: false).
NOT_SOCIAL = {"auth0", "email", "sms", "ad", "adfs", "waad", "samlp", "oidc", "okta", "pingfederate", "google-apps", "ip", "custom"}
APP_GRANTS = {
    "regular_web": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
    "spa": ["authorization_code", "implicit", "refresh_token"],
    "native": ["authorization_code", "implicit", "refresh_token"],
    "non_interactive": ["client_credentials"],
}


def alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def auth0_id(prefix: str) -> str:
    """Auth0's object ids: con_/cgr_/job_ and 16 letters or digits."""
    return prefix + alnum(16)


def iso_now() -> str:
    """Auth0's timestamps: ISO 8601, milliseconds, Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        # -- the Management API's tenant --
        self.base = ""  # http://127.0.0.1:PORT, set by FakeAuth0
        self.tenant = "fake-tenant"
        self.mgmt_clients: dict[str, dict] = {}  # client_id -> {"secret", "scopes"}
        self.mgmt_tokens: dict[str, dict] = {}  # access token -> {"client_id", "scopes"}
        self.global_client = {
            "tenant": self.tenant, "global": True, "is_token_endpoint_ip_header_trusted": False, "name": "All Applications",
            "client_id": alnum(32), "client_secret": secrets.token_urlsafe(48), "callbacks": [],
            "is_first_party": True, "oidc_conformant": False, "sso_disabled": False, "cross_origin_auth": False,
            "custom_login_page_on": True, "callback_url_template": False,
        }
        self.system_api_id = secrets.token_hex(12)
        self.applications: dict[str, dict] = {}  # client_id -> Auth0 client, in creation order
        self.apis: list[dict] = []
        self.client_grants: list[dict] = []
        self.connections: list[dict] = []
        self.export_users: list[tuple[str, dict]] = []  # (connection name, Auth0 profile)
        self.jobs: dict[str, dict] = {}  # id -> {"job": public shape, "polls": GETs seen}
        self.exports: dict[str, bytes] = {}  # file name under /_exports/ -> gzip
        self.export_pending_polls = 1
        self.mgmt_fail: dict[str, dict] = {}  # path prefix -> {"times", "status"}
        self._add_connection("Username-Password-Authentication", {})

    def key(self):
        from joserfc.jwk import RSAKey

        with self.lock:
            if self.signing_key is None:
                self.signing_key = RSAKey.generate_key(2048, parameters={"kid": "upstream-" + secrets.token_hex(6), "use": "sig", "alg": "RS256"})
            return self.signing_key

    def user_by_sub(self, sub: str) -> dict | None:
        return next((u for u in self.users if u["sub"] == sub), None)

    # -- modes and faults -----------------------------------------------------------------------
    def set_modes(self, modes: dict):
        modes = dict(modes)
        with self.lock:
            if "export_pending_polls" in modes:
                self.export_pending_polls = int(modes.pop("export_pending_polls"))
            for prefix, spec in (modes.pop("mgmt_fail", None) or {}).items():
                spec = spec if isinstance(spec, dict) else {"times": spec}
                self.mgmt_fail[prefix] = {"times": int(spec.get("times", 1)), "status": int(spec.get("status", 500))}
            self.modes.update(modes)
            self.flaky_used.clear()

    def take_fault(self, path: str) -> int | None:
        """The status the next request to `path` must fail with (the longest matching prefix), if any."""
        with self.lock:
            prefix = max((p for p, f in self.mgmt_fail.items() if path.startswith(p) and f["times"] > 0), key=len, default=None)
            if prefix is None:
                return None
            fault = self.mgmt_fail[prefix]
            fault["times"] -= 1
            if fault["times"] <= 0:
                del self.mgmt_fail[prefix]
            return fault["status"]

    # -- the Management API's tenant (each takes the lock) ---------------------------------------
    @property
    def management_audience(self) -> str:
        return self.base + "/api/v2/"

    def system_api(self) -> dict:
        return {
            "id": self.system_api_id, "name": "Auth0 Management API", "identifier": self.management_audience, "is_system": True,
            "scopes": [{"value": s, "description": s.replace(":", " ").replace("_", " ").capitalize()} for s in MANAGEMENT_SCOPES],
            "signing_alg": "RS256", "token_lifetime": 86400, "token_lifetime_for_web": 7200, "allow_offline_access": False,
            "skip_consent_for_verifiable_first_party_clients": False,
        }

    def add_application(self, fields: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._add_application(fields))

    def _add_application(self, fields: dict) -> dict:
        app_type = fields.get("app_type", "regular_web")
        public = app_type in ("spa", "native")
        method = fields.get("token_endpoint_auth_method", "none" if public else "client_secret_post")
        rotating = app_type in ("spa", "native")
        app = {
            "tenant": self.tenant, "global": False, "is_token_endpoint_ip_header_trusted": False,
            "name": "My App", "app_type": app_type, "client_id": alnum(32),
            "client_secret": secrets.token_urlsafe(48), "callbacks": [], "allowed_logout_urls": [], "web_origins": [],
            "allowed_origins": [], "grant_types": list(APP_GRANTS.get(app_type, APP_GRANTS["regular_web"])),
            "token_endpoint_auth_method": method,
            "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": False},
            "refresh_token": {
                "rotation_type": "rotating" if rotating else "non-rotating",
                "expiration_type": "expiring" if rotating else "non-expiring", "leeway": 0, "token_lifetime": 2592000,
                "infinite_token_lifetime": not rotating, "idle_token_lifetime": 1296000, "infinite_idle_token_lifetime": not rotating,
            },
            "is_first_party": True, "oidc_conformant": True, "sso_disabled": False, "cross_origin_auth": False,
            "custom_login_page_on": True, "callback_url_template": False,
        }
        app.update(copy.deepcopy(fields))
        if app["token_endpoint_auth_method"] == "none" or app.get("client_secret") is None:
            app.pop("client_secret", None)
        self.applications.pop(app["client_id"], None)
        self.applications[app["client_id"]] = app
        self.clients[app["client_id"]] = app.get("client_secret")
        for connection in self.connections:
            if app["client_id"] not in connection["enabled_clients"]:
                connection["enabled_clients"].append(app["client_id"])
        return app

    def add_management_client(self, client_id: str, secret: str, scopes: list[str] | None = None, listed: bool = False) -> dict:
        scopes = list(MANAGEMENT_SCOPES if scopes is None else scopes)
        with self.lock:
            self.mgmt_clients[client_id] = {"secret": secret, "scopes": scopes}
            if not listed:
                return {"client_id": client_id, "client_secret": secret, "scopes": scopes}
            app = self.applications.get(client_id)
            if app is None:
                app = self._add_application({"client_id": client_id, "client_secret": secret, "name": "Migration (M2M)",
                                             "app_type": "non_interactive"})
            self.client_grants = [g for g in self.client_grants
                                  if not (g["client_id"] == client_id and g["audience"] == self.management_audience)]
            self.client_grants.append({"id": auth0_id("cgr_"), "client_id": client_id, "audience": self.management_audience, "scope": scopes})
            return copy.deepcopy(app)

    def add_api(self, fields: dict) -> dict:
        api = {
            "id": secrets.token_hex(12), "name": fields.get("identifier", "API"), "identifier": "https://api-" + secrets.token_hex(4) + ".example",
            "scopes": [], "signing_alg": "RS256", "token_lifetime": 86400, "token_lifetime_for_web": 7200,
            "allow_offline_access": False, "skip_consent_for_verifiable_first_party_clients": True,
        }
        api.update(copy.deepcopy(fields))
        api["scopes"] = [s if isinstance(s, dict) else {"value": s, "description": s} for s in api["scopes"]]
        with self.lock:
            self.apis.append(api)
            return copy.deepcopy(api)

    def add_client_grant(self, client_id: str, audience: str, scope: list[str]) -> dict:
        grant = {"id": auth0_id("cgr_"), "client_id": client_id, "audience": audience, "scope": list(scope)}
        with self.lock:
            self.client_grants.append(grant)
            return copy.deepcopy(grant)

    def add_connection(self, name: str, fields: dict) -> dict:
        with self.lock:
            if any(c["name"] == name for c in self.connections):
                raise ValueError(f"a connection named {name} already exists")
            return copy.deepcopy(self._add_connection(name, fields))

    def _add_connection(self, name: str, fields: dict) -> dict:
        fields = copy.deepcopy(fields)
        strategy = fields.pop("strategy", "auth0")
        top = {k: fields.pop(k) for k in ("id", "display_name", "enabled_clients", "realms", "is_domain_connection", "metadata",
                                          "show_as_button") if k in fields}
        options = ({"mfa": {"active": True}, "passwordPolicy": "good", "brute_force_protection": True, "disable_signup": False,
                    "requires_username": False} if strategy == "auth0" else {})
        options.update(fields.pop("options", {}))
        options.update(fields)  # whatever else was given is an option
        connection = {
            "id": top.get("id") or auth0_id("con_"), "name": name, "display_name": top.get("display_name", name),
            "strategy": strategy, "options": options,
            "enabled_clients": list(top.get("enabled_clients", list(self.applications))),
            "realms": list(top.get("realms", [name])), "is_domain_connection": top.get("is_domain_connection", False),
        }
        for k in ("metadata", "show_as_button"):
            if k in top:
                connection[k] = top[k]
        self.connections.append(connection)
        return connection

    def add_export_user(self, connection_name: str, user: dict) -> dict:
        user = copy.deepcopy(user)
        password = user.pop("password", None)
        with self.lock:
            connection = next((c for c in self.connections if c["name"] == connection_name), None) or self._add_connection(connection_name, {})
            strategy = connection["strategy"]
            user_id = user.get("user_id") or (
                f"auth0|{secrets.token_hex(12)}" if strategy == "auth0" else f"{strategy}|{secrets.randbelow(10**21):021d}")
            provider, _, bare_id = user_id.partition("|")
            now = iso_now()
            email = user.get("email")
            profile = {"user_id": user_id}
            if email:
                digest = hashlib.md5(email.strip().lower().encode()).hexdigest()
                profile.update({"email": email, "email_verified": False, "name": email, "nickname": email.split("@")[0],
                                "picture": f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{email.split('@')[0][:2].lower()}.png"})
            profile.update({"created_at": now, "updated_at": now})
            profile["identities"] = [{"connection": connection_name, "provider": provider or strategy, "user_id": bare_id or user_id,
                                      "isSocial": strategy not in NOT_SOCIAL}]
            profile.update(user)
            self.export_users.append((connection_name, profile))
            if password is not None:
                login = {k: profile[k] for k in ("email", "username", "email_verified", "name", "given_name", "family_name",
                                                 "nickname", "picture", "updated_at") if k in profile}
                self.users.append({"sub": user_id, "password": password, "realm": connection_name, **login})
            return copy.deepcopy(profile)

    def export(self, record: dict) -> None:
        """Completes an export job (under the lock): the file of the users as they are now."""
        job = record["job"]
        names = None if "connection" not in job else {job["connection"]}
        users = [u for (c, u) in self.export_users if names is None or c in names][: job.get("limit")]
        fields = job.get("fields") or [{"name": n} for n in EXPORT_FIELDS]

        def value(user: dict, dotted: str):
            for part in dotted.split("."):
                if not isinstance(user, dict) or part not in user:
                    return None
                user = user[part]
            return user

        rows = [{f.get("export_as") or f["name"]: v for f in fields if (v := value(u, f["name"])) is not None} for u in users]
        if job["format"] == "json":
            data = "".join(json.dumps(r) + "\n" for r in rows)
        else:
            out = io.StringIO()
            header = [f.get("export_as") or f["name"] for f in fields]
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            for r in rows:
                writer.writerow(["" if h not in r else r[h] if isinstance(r[h], str) else json.dumps(r[h]) for h in header])
            data = out.getvalue()
        file = f"{job['id']}.{job['format']}.gz"
        self.exports[file] = gzip.compress(data.encode(), mtime=0)
        job.update({"status": "completed", "percentage_done": 100, "time_left_seconds": 0,
                    "location": f"{self.base}/_exports/{file}?Expires={int(time.time()) + 60}&Signature={secrets.token_hex(16)}"})


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

    def _send(self, status: int, body, headers: dict | None = None, ctype: str = "application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: dict):
        redacted = {k: ("[redacted]" if k in ("password", "client_secret") else v) for k, v in body.items()}
        with self.state.lock:
            self.state.calls.append({"path": self.path, "body": redacted, "headers": {k.lower(): v for k, v in self.headers.items()}})

    def _client_auth(self, body: dict) -> tuple[str | None, str | None]:
        """The client's credentials: HTTP Basic, else the body."""
        basic = self.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            cid, _, csecret = base64.b64decode(basic[6:]).decode().partition(":")
            return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(csecret)
        return body.get("client_id"), body.get("client_secret")

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

    def _fault(self, path: str) -> bool:
        """An injected `mgmt_fail` fault for this path; True when it answered."""
        status = self.state.take_fault(path)
        if status is None:
            return False
        headers = {}
        if status == 429:
            headers = {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1), "retry-after": "1"}
        if path == "/oauth/token":  # the authentication API answers OAuth errors
            error = "too_many_requests" if status == 429 else "server_error" if status >= 500 else "invalid_request"
            body = {"error": error, "error_description": "Global limit has been reached" if status == 429 else "injected fault"}
        else:
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            body = {"statusCode": status, "error": phrase,
                    "message": "Global limit has been reached" if status == 429 else "An internal error occurred (injected fault)."}
            if status == 429:
                body["errorCode"] = "too_many_requests"
        self._send(status, body, headers)
        return True

    # -- routes ---------------------------------------------------------------------------------
    def do_POST(self):
        body = self._body()
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/_"):
            return self._control(path, body)
        self._record(body)
        if self._fault(path):
            return
        if path.startswith("/api/v2/"):
            return self._management("POST", path, body)
        if path != "/oauth/token":
            return self._send(404, {"error": "not_found"})
        if body.get("grant_type") == "client_credentials":
            return self._client_credentials(body)
        if self._failure("token"):
            return
        cid, csecret = self._client_auth(body)
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

    def _client_credentials(self, body: dict):
        """Auth0's client-credentials grant, for the Management API only."""
        cid, csecret = self._client_auth(body)
        audience = body.get("audience")
        with self.state.lock:
            mgmt = self.state.mgmt_clients.get(cid)
            app_secret = self.state.clients.get(cid)
            apis = {a["identifier"] for a in self.state.apis}
        host = self.headers.get("host")
        management = {self.state.management_audience} | ({f"http://{host}/api/v2/"} if host else set())
        if not (mgmt and csecret == mgmt["secret"]) and not (app_secret and csecret == app_secret):
            return self._send(401, {"error": "access_denied", "error_description": "Unauthorized"})
        if not audience:
            return self._send(403, {"error": "access_denied",
                                    "error_description": "No audience parameter was provided, and no default audience has been configured"})
        if audience not in management and audience not in apis:
            return self._send(403, {"error": "access_denied", "error_description": f"Service not enabled within domain: {audience}"})
        if not (mgmt and csecret == mgmt["secret"]) or audience not in management:
            return self._send(403, {"error": "access_denied", "error_description":
                                    f'Client is not authorized to access "{audience}". You need to create a "client-grant" associated '
                                    "to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"})
        token = "mgmt_" + secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.mgmt_tokens[token] = {"client_id": cid, "scopes": list(mgmt["scopes"])}
        self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 86400, "scope": " ".join(mgmt["scopes"])})

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/_calls":
            with self.state.lock:
                return self._send(200, list(self.state.calls))
        self._record({})
        if self._fault(path):
            return
        if path.startswith("/api/v2/"):
            return self._management("GET", path, {})
        if path.startswith("/_exports/"):
            with self.state.lock:
                data = self.state.exports.get(path[len("/_exports/"):])
            if data is None:
                return self._send(404, {"error": "not_found"})
            return self._send(200, data, ctype="application/gzip")
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

    # -- the Management API ---------------------------------------------------------------------
    def _error(self, status: int, message: str, code: str | None = None):
        body = {"statusCode": status, "error": HTTPStatus(status).phrase, "message": message}
        if code:
            body["errorCode"] = code
        self._send(status, body)

    def _management(self, method: str, path: str, body: dict):
        auth = self.headers.get("authorization", "")
        with self.state.lock:
            grant = self.state.mgmt_tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        if not grant:
            return self._error(401, "Invalid token", "invalid_token")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query, keep_blank_values=True)
        lists = {"/api/v2/clients": ("clients", ("read:clients", "read:client_keys")),
                 "/api/v2/resource-servers": ("resource_servers", ("read:resource_servers",)),
                 "/api/v2/client-grants": ("client_grants", ("read:client_grants",)),
                 "/api/v2/connections": ("connections", ("read:connections",))}
        if method == "GET" and path.rstrip("/") in lists:
            key, scopes = lists[path.rstrip("/")]
        elif method == "POST" and path == "/api/v2/jobs/users-exports" or method == "GET" and path.startswith("/api/v2/jobs/"):
            key, scopes = None, ("read:users", "create:users")
        else:
            return self._error(404, "Not Found")
        if not set(scopes) & set(grant["scopes"]):
            return self._error(403, "Insufficient scope, expected any of: " + ",".join(scopes), "insufficient_scope")
        if key is None:
            return self._export_job(path, body) if method == "POST" else self._job(path[len("/api/v2/jobs/"):])
        items = self._collection(key, query, grant["scopes"])
        self._page(key, items, query)

    def _collection(self, key: str, query: dict, scopes: list[str]) -> list[dict]:
        def one(name):
            return (query.get(name) or [None])[-1]

        with self.state.lock:
            if key == "clients":
                items = [self.state.global_client] + list(self.state.applications.values())
                if one("is_global") in ("true", "false"):
                    items = [c for c in items if c["global"] == (one("is_global") == "true")]
                if one("is_first_party") in ("true", "false"):
                    items = [c for c in items if c.get("is_first_party") == (one("is_first_party") == "true")]
                if one("app_type"):
                    types = one("app_type").split(",")
                    items = [c for c in items if c.get("app_type") in types]
                if "read:client_keys" not in scopes:
                    items = [{k: v for k, v in c.items() if k != "client_secret"} for c in items]
            elif key == "resource_servers":
                items = [self.state.system_api()] + self.state.apis
                if query.get("identifiers"):
                    items = [a for a in items if a["identifier"] in query["identifiers"]]
            elif key == "client_grants":
                items = [g for g in self.state.client_grants
                         if (not one("client_id") or g["client_id"] == one("client_id")) and (not one("audience") or g["audience"] == one("audience"))]
            else:
                items = [c for c in self.state.connections
                         if (not query.get("strategy") or c["strategy"] in query["strategy"]) and (not one("name") or c["name"] == one("name"))]
            items = copy.deepcopy(items)
        if query.get("fields"):
            names = {f for v in query["fields"] for f in v.split(",") if f}
            include = one("include_fields") != "false"
            items = [{k: v for k, v in item.items() if (k in names) == include} for item in items]
        return items

    def _page(self, key: str, items: list[dict], query: dict):
        """Auth0's offset paging: page, per_page (<= 100), include_totals."""
        values = {}
        for name, default, limit, doc in (("page", 0, None, "Page index of the results to return. First page is 0."),
                                          ("per_page", 50, 100, "Number of results per page. Defaults to 50.")):
            raw = (query.get(name) or [str(default)])[-1]
            try:
                value = int(raw)
                if value < 0 or (limit is not None and value > limit):
                    raise ValueError
            except ValueError:
                return self._error(400, f"Query validation error: 'Invalid value \"{raw}\" for parameter {name}' on property {name} ({doc}).",
                                   "invalid_query_string")
            values[name] = value
        start = values["page"] * values["per_page"]
        chunk = items[start:start + values["per_page"]]
        if (query.get("include_totals") or ["false"])[-1] == "true":
            return self._send(200, {key: chunk, "start": start, "limit": values["per_page"], "total": len(items)})
        self._send(200, chunk)

    def _export_job(self, path: str, body: dict):
        connection_id, fmt, fields, limit = body.get("connection_id"), body.get("format", "csv"), body.get("fields"), body.get("limit")
        if fmt not in ("json", "csv"):
            return self._error(400, f"Payload validation error: 'No enum match for: \"{fmt}\"' on property format "
                                    "(The format of the file. Valid values are: \"json\" and \"csv\".).", "invalid_body")
        if fields is not None and not (isinstance(fields, list) and all(
                isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("export_as", ""), str) for f in fields)):
            return self._error(400, "Payload validation error: 'Expected type array' on property fields "
                                    "(A list of fields to be included in the CSV. If omitted, a set of predefined fields will be exported.).",
                               "invalid_body")
        if limit is not None and not (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1):
            return self._error(400, "Payload validation error: 'Expected type integer' on property limit.", "invalid_body")
        with self.state.lock:
            job = {"type": "users_export", "status": "pending"}
            if connection_id is not None:
                connection = next((c for c in self.state.connections if c["id"] == connection_id), None)
                if connection is None:
                    return self._error(400, "The connection does not exist.", "invalid_body")
                job["connection_id"] = connection_id
            job["format"] = fmt
            if limit is not None:
                job["limit"] = limit
            if fields is not None:
                job["fields"] = [{k: f[k] for k in ("name", "export_as") if k in f} for f in fields]
            if connection_id is not None:
                job["connection"] = connection["name"]
            job.update({"created_at": iso_now(), "id": auth0_id("job_")})
            self.state.jobs[job["id"]] = {"job": job, "polls": 0}
            answer = copy.deepcopy(job)
        self._send(201, answer)

    def _job(self, job_id: str):
        with self.state.lock:
            record = self.state.jobs.get(job_id)
            if record and record["job"]["status"] == "pending":
                if record["polls"] < self.state.export_pending_polls:
                    record["polls"] += 1
                else:
                    self.state.export(record)
            answer = copy.deepcopy(record["job"]) if record else None
        if answer is None:
            return self._error(404, "The job does not exist.", "inexistent_job")
        self._send(200, answer)

    # -- controls -------------------------------------------------------------------------------
    def _control(self, path: str, body: dict):
        made = {
            "/_mgmt_clients": lambda: self.state.add_management_client(body["client_id"], body["client_secret"], body.get("scopes"),
                                                                 bool(body.get("listed"))),
            "/_applications": lambda: self.state.add_application(body),
            "/_apis": lambda: self.state.add_api(body),
            "/_client_grants": lambda: self.state.add_client_grant(body["client_id"], body["audience"], body.get("scope", [])),
            "/_connections": lambda: self.state.add_connection(body["name"], {k: v for k, v in body.items() if k != "name"}),
            "/_export_users": lambda: self.state.add_export_user(body.get("connection", "Username-Password-Authentication"),
                                                                 {k: v for k, v in body.items() if k != "connection"}),
        }
        if path in made:
            try:
                return self._send(200, made[path]())
            except KeyError as missing:
                return self._send(400, {"error": f"missing {missing}"})
            except ValueError as exists:
                return self._send(409, {"error": str(exists)})
        if path == "/_mode":
            self.state.set_modes(body)
            return self._send(200, {"ok": True})
        with self.state.lock:
            if path == "/_users":
                self.state.users.append(body)
            elif path == "/_refresh_tokens":
                self.state.refresh_tokens[body["token"]] = body
            elif path == "/_clients":
                self.state.clients[body["client_id"]] = body.get("client_secret")
            elif path == "/_reset":
                self.state.calls.clear()
                self.state.modes = {"token": "ok", "userinfo": "ok", "delay_ms": 0}
                self.state.flaky_used.clear()
                self.state.mgmt_fail.clear()
                self.state.export_pending_polls = 1
            else:
                return self._send(404, {"error": "not_found"})
        self._send(200, {"ok": True})


class QuietServer(ThreadingHTTPServer):
    """Says nothing when the client has gone (Gangway gave up on a deliberately slow answer); other errors as usual."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class FakeAuth0:
    """The fake tenant on 127.0.0.1:<free port>, in a background thread."""

    def __init__(self, client_id: str = "upstream-client", client_secret: str = "upstream-secret"):
        self.state = State(client_id, client_secret)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.state.base = self.base
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
        self.state.set_modes(modes)

    def sign(self, claims: dict, typ: str = "JWT") -> str:
        """A token signed with the tenant's key, typed as Auth0 types its tokens (`JWT`, access and ID tokens alike)."""
        from joserfc import jwt

        key = self.state.key()
        return jwt.encode({"alg": "RS256", "typ": typ, "kid": key.kid}, claims, key)

    def calls(self, path: str | None = None) -> list[dict]:
        with self.state.lock:
            return [c for c in self.state.calls if path is None or c["path"].startswith(path)]

    # The Management API's tenant (each returns a copy of what it made).
    @property
    def management_audience(self) -> str:
        """`<base>/api/v2/`, the audience of a management token."""
        return self.state.management_audience

    def add_management_client(self, client_id: str, secret: str, scopes: list[str] | None = None, listed: bool = False) -> dict:
        """A client allowed the client-credentials grant for the Management API, with `scopes` (default: every read
        scope the fake's routes ask for). Not listed unless `listed`: then also a non_interactive application with its
        client grant to <base>/api/v2/, as on a real tenant, and the answer is that application (else
        {"client_id", "client_secret", "scopes"})."""
        return self.state.add_management_client(client_id, secret, scopes, listed)

    def add_application(self, **fields) -> dict:
        """An application (Auth0 client) with Auth0's defaults under `fields`; random client_id/client_secret unless
        given, no secret when token_endpoint_auth_method is "none" (spa/native default to it). It can also use the
        password-realm and refresh-token grants, and is enabled on every existing connection."""
        return self.state.add_application(fields)

    def add_api(self, **fields) -> dict:
        """A resource server; `scopes` may be strings or {"value", "description"}."""
        return self.state.add_api(fields)

    def add_client_grant(self, client_id: str, audience: str, scope: list[str]) -> dict:
        return self.state.add_client_grant(client_id, audience, scope)

    def add_connection(self, name: str, **options) -> dict:
        """A connection (strategy "auth0" unless given). Top-level fields: strategy, display_name, enabled_clients
        (default: every application), realms, is_domain_connection, metadata, show_as_button, options; any other
        keyword is merged into `options` (over Auth0's database defaults for strategy auth0)."""
        return self.state.add_connection(name, options)

    def add_export_user(self, connection_name: str, **user) -> dict:
        """A user of the connection (made, strategy auth0, if missing), as the users-export job sees it: Auth0's
        profile with user_id `auth0|<24 hex>`, created_at/updated_at, identities, name/nickname/picture from the email,
        unless given. `password=` also makes it a password-realm login user (realm = the connection)."""
        return self.state.add_export_user(connection_name, user)

    def set_export_pending_polls(self, n: int):
        """How many GETs of a users-export job answer `pending` before it completes (default 1)."""
        self.state.set_modes({"export_pending_polls": n})

    def fail_next(self, path_prefix: str, times: int = 1, status: int = 500):
        """The next `times` requests whose path starts with `path_prefix` answer `status` with Auth0's error body."""
        self.state.set_modes({"mgmt_fail": {path_prefix: {"times": times, "status": status}}})


if __name__ == "__main__":
    with FakeAuth0(*(sys.argv[1:3])) as fake:
        print(f"PORT {fake.port}", flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin
