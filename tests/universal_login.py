"""A scripted browser for Universal Login tests: a requests.Session that keeps cookies like a browser, fills the
hosted login form (its hidden `state` and `csrf` inputs, read with html.parser) and stops at the callback, so the
tests see exactly what the gateway sends back to the application."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from test_auth0_sdk_clients import password_user
from test_auth0_sdk_management import management_token

CALLBACK = "http://127.0.0.1:9/callback"
WEB_ORIGIN = "http://127.0.0.1:9"


class Inputs(HTMLParser):
    """Every <input name=value> of a page, and its <form action>."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.actions: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.values[a["name"]] = a.get("value") or ""
        if tag == "form":
            self.actions.append(a.get("action") or "")


def inputs(html: str) -> Inputs:
    parser = Inputs()
    parser.feed(html)
    return parser


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def create_application(gateway, tenant, body: dict) -> dict:
    answer = requests.post(f"http://127.0.0.1:{gateway.port}/api/v2/clients", json=body, timeout=15,
                           headers={"authorization": "Bearer " + management_token(tenant, "create:clients")})
    assert answer.status_code == 201, answer.text
    return answer.json()


def spa(gateway, tenant, **extra) -> dict:
    """A public single-page application (no secret, PKCE), as auth0-spa-js apps are registered."""
    body = {"name": "spa-" + uuid.uuid4().hex[:6], "app_type": "spa", "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "callbacks": [CALLBACK], "web_origins": [WEB_ORIGIN],
            "allowed_logout_urls": [WEB_ORIGIN + "/"]}
    body.update(extra)
    return create_application(gateway, tenant, body)


def web_app(gateway, tenant, **extra) -> dict:
    """A confidential regular web application (a secret; PKCE optional)."""
    body = {"name": "web-" + uuid.uuid4().hex[:6], "app_type": "regular_web", "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token", "implicit"], "callbacks": [CALLBACK],
            "allowed_logout_urls": [WEB_ORIGIN + "/"]}
    body.update(extra)
    return create_application(gateway, tenant, body)


class Browser:
    def __init__(self, gateway) -> None:
        self.base = f"http://127.0.0.1:{gateway.port}"
        self.http = requests.Session()

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(self.base + path, params=params, allow_redirects=False, timeout=15)

    def authorize(self, app, **params) -> requests.Response:
        query = {"client_id": app["client_id"], "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid profile email",
                 "state": "st-" + uuid.uuid4().hex}
        query.update({k: v for k, v in params.items() if v is not None})
        for k in [k for k, v in params.items() if v is None]:
            query.pop(k, None)
        return self.get("/authorize", **query)

    def login_page(self, answer: requests.Response) -> requests.Response:
        assert answer.status_code == 302, (answer.status_code, answer.text[:300])
        location = answer.headers["location"]
        assert urlsplit(location).path == "/u/login", location
        return self.http.get(location, allow_redirects=False, timeout=15)

    def submit(self, page: requests.Response, username: str, password: str, **override) -> requests.Response:
        form = inputs(page.text).values
        form.update({"username": username, "password": password, "action": "default"})
        form.update(override)
        form = {k: v for k, v in form.items() if v is not None}
        return self.http.post(self.base + "/u/login", params={"state": form.get("state", "")}, data=form, allow_redirects=False,
                              timeout=30)

    def log_in(self, app, username: str, password: str, **params) -> requests.Response:
        """/authorize → login page → form → /authorize/resume: the answer to the application (not followed)."""
        done = self.submit(self.login_page(self.authorize(app, **params)), username, password)
        assert done.status_code == 303, (done.status_code, done.text[:500])
        return self.http.get(self.base + done.headers["location"].split(self.base, 1)[-1], allow_redirects=False, timeout=15)


def callback_parameters(answer: requests.Response) -> dict[str, str]:
    """The parameters a query or fragment redirect carries to the callback."""
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
    parts = urlsplit(answer.headers["location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK, answer.headers["location"]
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def exchange(gateway, app, code: str, verifier: str | None = None, redirect_uri: str | None = CALLBACK, **extra) -> requests.Response:
    body = {"grant_type": "authorization_code", "client_id": app["client_id"], "code": code}
    if redirect_uri is not None:
        body["redirect_uri"] = redirect_uri
    if verifier is not None:
        body["code_verifier"] = verifier
    body.update(extra)
    return requests.post(f"http://127.0.0.1:{gateway.port}/oauth/token", data=body, timeout=15)


def user(tenant) -> tuple[str, str]:
    return password_user(tenant)


__all__ = ["Browser", "CALLBACK", "WEB_ORIGIN", "create_application", "callback_parameters", "exchange", "inputs", "pkce", "spa",
           "user", "web_app", "urlencode"]
