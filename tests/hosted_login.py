"""Helpers shared by the Universal Login stories (test code): applications and users through the Management API,
and the hosted login page driven with plain `requests` (no browser), as a server-side web app's user agent would.
"""

from __future__ import annotations

import urllib.parse
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

import requests

from test_auth0_sdk_management import CONNECTION, management_token

MGMT_SCOPES = "read:clients create:clients update:clients read:users create:users update:users read:connections update:connections"


def mgmt_request(gateway, method: str, path: str, scope: str = MGMT_SCOPES, **kw) -> requests.Response:
    headers = {"Authorization": "Bearer " + management_token(gateway.tenant, scope)}
    return requests.request(method, gateway.base + "api/v2/" + path.lstrip("/"), headers=headers, timeout=15, **kw)


def create_application(gateway, **body) -> dict:
    answer = mgmt_request(gateway, "POST", "clients", json={"name": "ul-" + uuid.uuid4().hex[:8], **body})
    assert answer.status_code == 201, (answer.status_code, answer.text)
    return answer.json()


def create_spa(gateway, rp_base: str) -> dict:
    return create_application(
        gateway, app_type="spa", token_endpoint_auth_method="none", grant_types=["authorization_code", "refresh_token"],
        callbacks=[rp_base + "/callback"], web_origins=[rp_base], allowed_logout_urls=[rp_base + "/"])


def create_user(gateway, password: str = "Browser-Pa55word!") -> dict:
    email = f"ul-{uuid.uuid4().hex[:10]}@example.com"
    answer = mgmt_request(gateway, "POST", "users", json={"connection": CONNECTION, "email": email, "password": password})
    assert answer.status_code == 201, (answer.status_code, answer.text)
    return {**answer.json(), "email": email, "password": password}


# --- the login page without a browser --------------------------------------------------------------------------


class _Forms(HTMLParser):
    """Every <form> of a page: its method, action and inputs (name -> value), plus elements by id."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.ids: dict[str, dict] = {}
        self._texts: list[tuple[str, list[str]]] = []
        # Elements with an id still open: [id, tag, nesting depth of that tag]; text goes to each until it closes.
        self._open: list[list] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        for element in self._open:
            if element[1] == tag:
                element[2] += 1
        if "id" in a:
            self.ids[a["id"]] = {"tag": tag, **a, "text": ""}
            self._texts.append((a["id"], []))
            if tag not in ("input", "img", "br", "meta", "link"):
                self._open.append([a["id"], tag, 1])
        if tag == "form":
            self.forms.append({"method": a.get("method", "get").lower(), "action": a.get("action"), "inputs": {}, "buttons": []})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append(a)

    def handle_endtag(self, tag):
        for element in self._open:
            if element[1] == tag:
                element[2] -= 1
        self._open = [e for e in self._open if e[2] > 0]

    def handle_data(self, data):
        open_ids = {e[0] for e in self._open}
        for element_id, chunks in self._texts:
            if element_id in open_ids:
                chunks.append(data)

    def close(self):
        super().close()
        for element_id, chunks in self._texts:
            self.ids[element_id]["text"] = "".join(chunks).strip()


def parse_page(text: str) -> _Forms:
    parser = _Forms()
    parser.feed(text)
    parser.close()
    return parser


@dataclass
class LoginTrace:
    """Each hop of a login through the hosted page, redirects not followed."""

    authorize: requests.Response | None = None
    page: requests.Response | None = None
    submit: requests.Response | None = None
    resume: requests.Response | None = None
    hops: list = field(default_factory=list)

    @property
    def final(self) -> requests.Response:
        return self.resume if self.resume is not None else self.submit

    @property
    def redirect(self) -> str:
        """The authorization response's absolute Location (the RP's redirect_uri with code & state)."""
        return self.final.headers["location"]

    def callback_params(self) -> dict:
        parts = urllib.parse.urlsplit(self.redirect)
        raw = parts.query or parts.fragment
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}


def get(session: requests.Session, url: str) -> requests.Response:
    return session.get(url, allow_redirects=False, timeout=15)


def login_with_requests(session: requests.Session, authorize_url: str, username: str, password: str) -> LoginTrace:
    """GET /authorize (302 to /u/login), GET the page (its hidden state and csrf), POST the credentials (303 to
    /authorize/resume), GET that: its answer is the authorization response, not followed to the RP."""
    trace = LoginTrace()
    trace.authorize = get(session, authorize_url)
    assert trace.authorize.status_code == 302, (trace.authorize.status_code, trace.authorize.text[:500])
    page_url = urllib.parse.urljoin(authorize_url, trace.authorize.headers["location"])
    assert urllib.parse.urlsplit(page_url).path == "/u/login", page_url
    trace.page = get(session, page_url)
    assert trace.page.status_code == 200, (trace.page.status_code, trace.page.text[:500])
    [form] = [f for f in parse_page(trace.page.text).forms if "password" in f["inputs"]]
    assert form["method"] == "post" and form["inputs"].get("state") and form["inputs"].get("csrf"), form
    target = urllib.parse.urljoin(page_url, form["action"] or page_url)
    trace.submit = session.post(target, allow_redirects=False, timeout=15, data={
        **form["inputs"], "username": username, "password": password, "action": "default"})
    if trace.submit.status_code != 303:
        return trace  # a refused login: the caller looks at the page
    resume_url = urllib.parse.urljoin(target, trace.submit.headers["location"])
    assert urllib.parse.urlsplit(resume_url).path == "/authorize/resume", resume_url
    trace.resume = get(session, resume_url)
    return trace
