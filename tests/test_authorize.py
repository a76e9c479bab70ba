"""Universal Login against the real gateway, driven like a browser (tests/universal_login.py): /authorize, the
hosted login page, the browser session, the authorization_code grant with PKCE, silent authentication, logout,
CORS, and the attacks issue 13 names. ID tokens are checked with joserfc against the published JWKS."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from test_auth0_sdk_management import client, management_token
from universal_login import (CALLBACK, WEB_ORIGIN, Browser, callback_parameters, create_application, exchange, inputs, pkce, spa,
                             user, web_app)


def claims_of(gateway, token: str) -> dict:
    keys = KeySet.import_key_set(gateway.jwks())
    return jwt.decode(token, keys).claims


def logs(gateway, tenant, n=30):
    return client(gateway, management_token(tenant, "read:logs")).logs.list(per_page=n, include_totals=True).items


@pytest.fixture(scope="module")
def account(tenant):
    return user(tenant)


# ---- the code flow -------------------------------------------------------------------------------------------

def test_spa_code_flow_with_pkce_gives_tokens_whose_id_token_carries_nonce_auth_time_and_sid(gateway, tenant, account):
    app = spa(gateway, tenant)
    verifier, challenge = pkce()
    browser = Browser(gateway)
    before = int(time.time())
    answer = browser.log_in(app, *account, code_challenge=challenge, code_challenge_method="S256", nonce="n-123",
                            scope="openid profile email offline_access", state="my-state")
    got = callback_parameters(answer)
    assert got["state"] == "my-state" and len(got["code"]) >= 43
    tokens = exchange(gateway, app, got["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    claims = claims_of(gateway, body["id_token"])
    assert claims["aud"] == app["client_id"] and claims["nonce"] == "n-123"
    assert before - 2 <= claims["auth_time"] <= int(time.time()) + 2 and claims["sid"]
    info = requests.get(browser.base + "/userinfo", headers={"authorization": "Bearer " + body["access_token"]}, timeout=10)
    assert info.status_code == 200 and info.json()["email"] == account[0]
    assert {"s", "seacft"} <= {e.type for e in logs(gateway, tenant) if e.client_id == app["client_id"]}


def test_login_page_is_a_plain_form_password_managers_understand_and_cannot_be_framed(gateway, tenant):
    app = spa(gateway, tenant)
    _, challenge = pkce()
    browser = Browser(gateway)
    page = browser.login_page(browser.authorize(app, code_challenge=challenge, code_challenge_method="S256", login_hint="hint@example.com"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    csp = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    assert all("http" not in v for k, v in csp.items() if k != "form-action"), "no third-party origins: " + str(csp)
    assert csp["form-action"] == "'self' " + WEB_ORIGIN, "the form may end (by redirects) at the callback only"
    assert re.search(r'<input[^>]*name="username"[^>]*autocomplete="username"', page.text)
    assert re.search(r'<input[^>]*type="password"[^>]*autocomplete="current-password"', page.text)
    assert 'value="hint@example.com"' in page.text
    form = inputs(page.text)
    assert form.values["csrf"] and form.values["state"]


def test_a_confidential_web_app_proves_its_secret_and_needs_no_pkce(gateway, tenant, account):
    app = web_app(gateway, tenant)
    got = callback_parameters(Browser(gateway).log_in(app, *account))
    assert exchange(gateway, app, got["code"]).status_code == 401, "no secret: refused"
    tokens = exchange(gateway, app, got["code"], client_secret=app["client_secret"])
    assert tokens.status_code == 200 and "id_token" in tokens.json()


def test_an_existing_session_answers_without_a_page_and_prompt_login_or_max_age_zero_ask_again(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    callback_parameters(browser.log_in(app, *account))
    again = browser.authorize(app)
    assert "code" in callback_parameters(again), "SSO: no login page"
    for params in ({"prompt": "login"}, {"max_age": "0"}):
        answer = browser.authorize(app, **params)
        assert answer.status_code == 302 and urlsplit(answer.headers["location"]).path == "/u/login", params


def test_prompt_login_moves_auth_time_forward(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    first = callback_parameters(browser.log_in(app, *account))["code"]
    t1 = claims_of(gateway, exchange(gateway, app, first, client_secret=app["client_secret"]).json()["id_token"])["auth_time"]
    time.sleep(1.1)
    second = callback_parameters(browser.log_in(app, *account, prompt="login"))["code"]
    t2 = claims_of(gateway, exchange(gateway, app, second, client_secret=app["client_secret"]).json()["id_token"])["auth_time"]
    assert t2 > t1


def test_response_modes_fragment_form_post_and_implicit_id_token(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    fragment = browser.log_in(app, *account, response_mode="fragment", state="f1")
    assert urlsplit(fragment.headers["location"]).fragment.startswith("code=")
    posted = browser.authorize(app, response_mode="form_post", state="<script>alert(1)</script>")
    assert posted.status_code == 200
    form = inputs(posted.text)
    assert form.actions == [CALLBACK] and form.values["code"] and form.values["state"] == "<script>alert(1)</script>"
    assert "<script>alert(1)" not in posted.text, "state is escaped"
    implicit = browser.authorize(app, response_type="id_token token", nonce="n-imp", state="i1")
    got = callback_parameters(implicit)
    assert urlsplit(implicit.headers["location"]).fragment, "tokens go in the fragment"
    claims = claims_of(gateway, got["id_token"])
    assert claims["nonce"] == "n-imp" and claims["at_hash"] and got["access_token"] and got["state"] == "i1"


# ---- errors: pages vs redirects ------------------------------------------------------------------------------

def test_unknown_client_and_unregistered_redirect_uri_get_an_error_page_never_a_redirect(gateway, tenant):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    for answer in (
        browser.authorize({"client_id": "nope"}),
        browser.authorize(app, redirect_uri="https://evil.example.com/callback"),
        browser.authorize(app, redirect_uri=CALLBACK + "/../evil"),
        browser.authorize(app, redirect_uri="HTTP://127.0.0.1:9/callback"),
        browser.authorize(app, redirect_uri=CALLBACK + "?x=1"),
    ):
        assert answer.status_code == 400 and "location" not in answer.headers
        assert answer.headers["content-type"].startswith("text/html") and answer.headers["x-frame-options"] == "DENY"
    assert "evil.example.com" in browser.authorize(app, redirect_uri="https://evil.example.com/callback").text


def test_other_errors_redirect_to_the_callback_with_state(gateway, tenant):
    app = spa(gateway, tenant)
    browser = Browser(gateway)
    cases = {
        "invalid_request": dict(response_type=None),
        "unsupported_response_type": dict(response_type="code id_token"),
        "unauthorized_client": dict(response_type="id_token", nonce="x"),  # the SPA is not allowed implicit
    }
    for error, params in cases.items():
        got = callback_parameters(browser.authorize(app, state="s-" + error, **params))
        assert got["error"] == error and got["state"] == "s-" + error and got["error_description"], (error, got)
    missing_pkce = callback_parameters(browser.authorize(app))
    assert missing_pkce["error"] == "invalid_request" and "code_challenge" in missing_pkce["error_description"]
    _, challenge = pkce()
    plain = callback_parameters(browser.authorize(app, code_challenge=challenge, code_challenge_method="plain"))
    assert plain["error"] == "invalid_request"
    unknown_api = callback_parameters(browser.authorize(app, code_challenge=challenge, code_challenge_method="S256", audience="https://no.such.api/"))
    assert unknown_api["error"] == "access_denied" and unknown_api["error_description"] == "Service not found: https://no.such.api/"


def test_prompt_none_without_a_session_is_login_required_and_never_a_page(gateway, tenant):
    app = spa(gateway, tenant)
    _, challenge = pkce()
    got = callback_parameters(Browser(gateway).authorize(app, prompt="none", code_challenge=challenge, code_challenge_method="S256"))
    assert got["error"] == "login_required"
    assert "fsa" in {e.type for e in logs(gateway, tenant) if e.client_id == app["client_id"]}


# ---- silent authentication (web_message) --------------------------------------------------------------------

def web_message(page: requests.Response) -> tuple[dict, str]:
    m = re.search(r"postMessage\((\{.*\}),(\"[^\"]*\")\)", page.text)
    assert m, page.text
    return json.loads(m.group(1)), json.loads(m.group(2))


def test_silent_authentication_posts_the_code_to_the_registered_origin_only(gateway, tenant, account):
    app = spa(gateway, tenant)
    browser = Browser(gateway)
    verifier, challenge = pkce()
    callback_parameters(browser.log_in(app, *account, code_challenge=challenge, code_challenge_method="S256"))
    verifier, challenge = pkce()
    page = browser.authorize(app, prompt="none", response_mode="web_message", code_challenge=challenge, code_challenge_method="S256",
                             state="silent-1")
    assert page.status_code == 200 and "x-frame-options" not in page.headers
    assert f"frame-ancestors {WEB_ORIGIN}" in page.headers["content-security-policy"]
    message, target = web_message(page)
    assert target == WEB_ORIGIN and message["type"] == "authorization_response"
    assert message["response"]["state"] == "silent-1"
    assert exchange(gateway, app, message["response"]["code"], verifier).status_code == 200
    assert "ssa" in {e.type for e in logs(gateway, tenant) if e.client_id == app["client_id"]}


def test_web_message_to_an_unlisted_origin_posts_nothing(gateway, tenant):
    app = spa(gateway, tenant, web_origins=[])
    _, challenge = pkce()
    page = Browser(gateway).authorize(app, prompt="none", response_mode="web_message", code_challenge=challenge,
                                      code_challenge_method="S256")
    assert page.status_code == 400 and "postMessage" not in page.text and "registered origin" in page.text


def test_state_cannot_break_out_of_the_web_message_script(gateway, tenant):
    app = spa(gateway, tenant)
    _, challenge = pkce()
    evil = "</script><script>alert(1)</script>\u2028"
    page = Browser(gateway).authorize(app, prompt="none", response_mode="web_message", code_challenge=challenge,
                                      code_challenge_method="S256", state=evil)
    assert "</script><script>alert" not in page.text
    message, _ = web_message(page)
    assert message["response"]["state"] == evil and message["response"]["error"] == "login_required"


# ---- attacks on the code ------------------------------------------------------------------------------------

def test_a_reused_code_is_refused_and_revokes_what_the_first_exchange_gave(gateway, tenant, account):
    app = spa(gateway, tenant)
    verifier, challenge = pkce()
    code = callback_parameters(Browser(gateway).log_in(app, *account, code_challenge=challenge, code_challenge_method="S256",
                                                       scope="openid offline_access"))["code"]
    first = exchange(gateway, app, code, verifier).json()
    second = exchange(gateway, app, code, verifier)
    assert second.status_code == 403 and second.json()["error"] == "invalid_grant"
    info = requests.get(f"http://127.0.0.1:{gateway.port}/userinfo", headers={"authorization": "Bearer " + first["access_token"]}, timeout=10)
    assert info.status_code == 401, "the first access token is revoked"
    refreshed = requests.post(f"http://127.0.0.1:{gateway.port}/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": app["client_id"], "refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 403, "the first refresh token is revoked"


def test_a_code_cannot_be_swapped_to_another_client_or_redirect_uri_or_verifier(gateway, tenant, account):
    app, other = spa(gateway, tenant), spa(gateway, tenant)
    verifier, challenge = pkce()
    code = callback_parameters(Browser(gateway).log_in(app, *account, code_challenge=challenge, code_challenge_method="S256"))["code"]
    assert exchange(gateway, other, code, verifier).json()["error"] == "invalid_grant"
    assert exchange(gateway, app, code, verifier, redirect_uri=CALLBACK + "x").json()["error"] == "invalid_grant"
    assert exchange(gateway, app, code, verifier, redirect_uri=None).json()["error"] == "invalid_grant"
    assert exchange(gateway, app, code, pkce()[0]).json()["error_description"] == "Failed to verify code verifier"
    assert exchange(gateway, app, code, None).json()["error"] == "invalid_grant"
    assert exchange(gateway, app, code, "short").json()["error"] == "invalid_grant"
    assert exchange(gateway, app, code, verifier).status_code == 200, "none of the attempts above spent the code"


def test_a_verifier_for_a_code_issued_without_a_challenge_is_a_downgrade(gateway, tenant, account):
    app = web_app(gateway, tenant)
    code = callback_parameters(Browser(gateway).log_in(app, *account))["code"]
    refused = exchange(gateway, app, code, pkce()[0], client_secret=app["client_secret"])
    assert refused.status_code == 403 and refused.json()["error"] == "invalid_grant"


# ---- attacks on the login form ------------------------------------------------------------------------------

def test_a_login_post_without_or_with_a_foreign_csrf_token_or_cross_site_is_refused(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    page = browser.login_page(browser.authorize(app))
    assert browser.submit(page, *account, csrf=None).status_code == 403
    other = Browser(gateway)
    foreign = inputs(other.login_page(other.authorize(app)).text).values["csrf"]
    assert browser.submit(page, *account, csrf=foreign).status_code == 403
    page = browser.login_page(browser.authorize(app))
    form = inputs(page.text).values
    cross = browser.http.post(browser.base + "/u/login", data={**form, "username": account[0], "password": account[1]},
                              headers={"origin": "https://evil.example.com"}, allow_redirects=False, timeout=10)
    assert cross.status_code == 403
    stranger = requests.post(browser.base + "/u/login", data={**form, "username": account[0], "password": account[1]},
                             allow_redirects=False, timeout=10)
    assert stranger.status_code == 400, "another browser (no transaction cookie) cannot use the form"
    assert browser.submit(page, *account).status_code == 303, "the real form still works"


def test_a_wrong_password_shows_auth0s_words_and_starts_no_session(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    page = browser.login_page(browser.authorize(app))
    failed = browser.submit(page, account[0], "wrong-password")
    assert failed.status_code == 400 and "Wrong email or password." in failed.text
    assert not [c for c in failed.headers.get("set-cookie", "").split(",") if c.strip().startswith("auth0=")]
    assert "fp" in {e.type for e in logs(gateway, tenant) if e.client_id == app["client_id"]}
    assert browser.submit(failed, *account).status_code == 303, "the re-rendered form works"


# ---- logout ---------------------------------------------------------------------------------------------------

def test_v2_logout_ends_the_session_and_returns_only_to_allowed_urls(gateway, tenant, account):
    app = spa(gateway, tenant)
    browser = Browser(gateway)
    verifier, challenge = pkce()
    callback_parameters(browser.log_in(app, *account, code_challenge=challenge, code_challenge_method="S256"))
    refused = browser.get("/v2/logout", client_id=app["client_id"], returnTo="https://evil.example.com/")
    assert refused.status_code == 400 and "Allowed Logout URLs" in refused.text
    still = browser.authorize(app, prompt="none", code_challenge=challenge, code_challenge_method="S256")
    assert "code" in callback_parameters(still), "a refused logout ends nothing"
    out = browser.get("/v2/logout", client_id=app["client_id"], returnTo=WEB_ORIGIN + "/?after=1")
    assert out.status_code == 302 and out.headers["location"] == WEB_ORIGIN + "/?after=1"
    gone = browser.authorize(app, prompt="none", code_challenge=challenge, code_challenge_method="S256")
    assert callback_parameters(gone)["error"] == "login_required"
    assert "slo" in {e.type for e in logs(gateway, tenant) if e.client_id == app["client_id"]}


def test_oidc_logout_checks_the_hint_and_the_exact_uri_and_echoes_state(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    code = callback_parameters(browser.log_in(app, *account))["code"]
    id_token = exchange(gateway, app, code, client_secret=app["client_secret"]).json()["id_token"]
    forged = id_token[:-4] + ("AAAA" if not id_token.endswith("AAAA") else "BBBB")
    for params in ({"id_token_hint": forged, "post_logout_redirect_uri": WEB_ORIGIN + "/"},
                   {"id_token_hint": id_token, "post_logout_redirect_uri": WEB_ORIGIN + "/?added=1"},
                   {"post_logout_redirect_uri": WEB_ORIGIN + "/"}):
        refused = browser.get("/oidc/logout", **params)
        assert refused.status_code == 400 and "location" not in refused.headers, params
    assert "code" in callback_parameters(browser.authorize(app, prompt="none")), "still logged in"
    out = browser.get("/oidc/logout", id_token_hint=id_token, post_logout_redirect_uri=WEB_ORIGIN + "/", state="bye")
    assert out.status_code == 302 and out.headers["location"] == WEB_ORIGIN + "/?state=bye"
    assert callback_parameters(browser.authorize(app, prompt="none"))["error"] == "login_required"


# ---- CORS and discovery ------------------------------------------------------------------------------------

def test_token_endpoint_cors_answers_registered_origins_only(gateway, tenant, account):
    app = spa(gateway, tenant)
    base = f"http://127.0.0.1:{gateway.port}"
    ok = requests.options(base + "/oauth/token", timeout=10, headers={
        "origin": WEB_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type,auth0-client"})
    assert ok.headers["access-control-allow-origin"] == WEB_ORIGIN
    assert "Auth0-Client" in ok.headers["access-control-allow-headers"]
    bad = requests.options(base + "/oauth/token", timeout=10, headers={"origin": "https://evil.example.com",
                                                                         "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in bad.headers
    verifier, challenge = pkce()
    code = callback_parameters(Browser(gateway).log_in(app, *account, code_challenge=challenge, code_challenge_method="S256"))["code"]
    body = {"grant_type": "authorization_code", "client_id": app["client_id"], "code": code, "code_verifier": verifier,
            "redirect_uri": CALLBACK}
    evil = requests.post(base + "/oauth/token", data=body, headers={"origin": "https://evil.example.com"}, timeout=10)
    assert "access-control-allow-origin" not in evil.headers
    mine = requests.post(base + "/oauth/token", data=body, headers={"origin": WEB_ORIGIN}, timeout=10)
    assert mine.headers["access-control-allow-origin"] == WEB_ORIGIN, "errors are readable by the app too"
    assert "access-control-allow-origin" not in Browser(gateway).authorize(app, origin=WEB_ORIGIN).headers, "no CORS on /authorize"


def test_discovery_advertises_exactly_what_exists(gateway):
    doc = requests.get(f"http://127.0.0.1:{gateway.port}/.well-known/openid-configuration", timeout=10).json()
    routes = json.load(open(__import__("conftest").ROUTES))["routes"]
    paths = {r["path"] for r in routes}
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint",
                 "end_session_endpoint"):
        assert urlsplit(doc[name]).path in paths, name
    assert set(doc["response_types_supported"]) == {"code", "id_token", "token", "token id_token"}
    assert set(doc["response_modes_supported"]) == {"query", "fragment", "form_post", "web_message"}
    assert doc["code_challenge_methods_supported"] == ["S256"]
    # The token endpoint's grants as its OpenAPI request schema lists them (test_infra ties that list to the code),
    # plus implicit (answered by /authorize itself).
    import yaml
    spec = yaml.safe_load((Path(__import__("conftest").REPO) / "infra" / "openapi.yaml").read_text())
    grants = set(spec["components"]["schemas"]["TokenRequest"]["discriminator"]["mapping"])
    assert set(doc["grant_types_supported"]) == grants | {"implicit"}
    assert doc["request_parameter_supported"] is False and doc["request_uri_parameter_supported"] is False


# ---- more rules, each with the test that fails without it -------------------------------------------------------

def test_session_cookies_are_httponly_host_only_and_compat_has_no_samesite(gateway, tenant, account):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    done = browser.submit(browser.login_page(browser.authorize(app)), *account)
    cookies = {c.split("=", 1)[0]: c for c in done.raw.headers.getlist("set-cookie")}
    assert "HttpOnly" in cookies["auth0"] and "SameSite=Lax" in cookies["auth0"], "http: Lax (None needs Secure)"
    assert "HttpOnly" in cookies["auth0_compat"] and "SameSite" not in cookies["auth0_compat"]
    assert all("Domain=" not in c for c in cookies.values())


def test_prompt_none_for_a_third_party_application_is_consent_required(gateway, tenant, account):
    app = web_app(gateway, tenant, is_first_party=False)
    browser = Browser(gateway)
    callback_parameters(browser.log_in(app, *account))
    assert callback_parameters(browser.authorize(app, prompt="none"))["error"] == "consent_required"


def test_offline_access_gives_a_refresh_token_only_to_applications_allowed_it(gateway, tenant, account):
    app = web_app(gateway, tenant, grant_types=["authorization_code"])
    code = callback_parameters(Browser(gateway).log_in(app, *account, scope="openid offline_access"))["code"]
    body = exchange(gateway, app, code, client_secret=app["client_secret"]).json()
    assert "access_token" in body and "refresh_token" not in body and "offline_access" not in body["scope"]


def test_failed_logins_on_the_page_count_towards_the_password_grants_lockout(gateway, tenant):
    app = web_app(gateway, tenant)
    email, password = user(tenant)
    browser = Browser(gateway)
    page = browser.login_page(browser.authorize(app))
    for _ in range(3):
        page = browser.submit(page, email, "wrong-password")
        assert page.status_code == 400
    blocked = browser.submit(page, email, password)
    assert blocked.status_code == 400 and "blocked" in blocked.text, "the right password is refused while blocked"
    token = requests.post(f"http://127.0.0.1:{gateway.port}/oauth/token", timeout=10, data={
        "grant_type": "password", "client_id": tenant.client_id, "client_secret": tenant.init["app"]["client_secret"],
        "username": email, "password": password})
    assert token.status_code == 429 and token.json()["error"] == "too_many_attempts", "one count for the page and the grant"
    assert "limit_wc" in {e.type for e in logs(gateway, tenant)}


def test_logout_without_a_client_uses_the_tenants_list_and_oidc_logout_checks_client_id_against_the_hint(gateway, tenant, account):
    browser = Browser(gateway)
    refused = browser.get("/v2/logout", returnTo=WEB_ORIGIN + "/")
    assert refused.status_code == 400, "the tenant lists no logout URL"
    page = browser.get("/v2/logout")
    assert page.status_code == 200 and "logged out" in page.text
    app, other = web_app(gateway, tenant), web_app(gateway, tenant)
    code = callback_parameters(browser.log_in(app, *account))["code"]
    id_token = exchange(gateway, app, code, client_secret=app["client_secret"]).json()["id_token"]
    mismatch = browser.get("/oidc/logout", id_token_hint=id_token, client_id=other["client_id"])
    assert mismatch.status_code == 400
    assert "code" in callback_parameters(browser.authorize(app, prompt="none")), "a refused logout ends nothing"


# ---- sign-up -------------------------------------------------------------------------------------------------

def test_screen_hint_signup_opens_the_signup_form_which_creates_the_user_and_logs_in(gateway, tenant):
    app = web_app(gateway, tenant)
    browser = Browser(gateway)
    answer = browser.authorize(app, screen_hint="signup")
    assert urlsplit(answer.headers["location"]).path == "/u/signup"
    page = browser.http.get(answer.headers["location"], allow_redirects=False, timeout=15)
    assert re.search(r'<input[^>]*type="password"[^>]*autocomplete="new-password"', page.text)
    email = f"signup-{uuid.uuid4().hex[:8]}@example.com"
    weak = browser.http.post(browser.base + "/u/signup", data={**inputs(page.text).values, "username": email, "password": "weak"},
                             allow_redirects=False, timeout=15)
    assert weak.status_code == 400 and "too weak" in weak.text
    done = browser.http.post(browser.base + "/u/signup", data={**inputs(weak.text).values, "username": email, "password": "Str0ng-enough!"},
                             allow_redirects=False, timeout=30)
    assert done.status_code == 303, done.text[:300]
    code = callback_parameters(browser.http.get(done.headers["location"], allow_redirects=False, timeout=15))["code"]
    claims = claims_of(gateway, exchange(gateway, app, code, client_secret=app["client_secret"]).json()["id_token"])
    assert claims["email"] == email
    again = Browser(gateway)
    page = again.login_page(again.authorize(app))
    assert 'id="signup-link"' in page.text
    signup = again.http.get(again.base + "/u/signup", params={"state": inputs(page.text).values["state"]}, timeout=15)
    exists = again.http.post(again.base + "/u/signup", data={**inputs(signup.text).values, "username": email, "password": "Str0ng-enough!"},
                             allow_redirects=False, timeout=15)
    assert exists.status_code == 400 and "already exists" in exists.text
    assert {"ss", "fs"} <= {e.type for e in logs(gateway, tenant) if e.client_id == app["client_id"]}


# ---- tenant settings: session lifetime and the tenant's logout URLs ---------------------------------------------

@pytest.fixture(scope="module")
def short_sessions(start_gateway):
    """A gateway of its own whose tenant ends idle sessions after 4 s (the shared tenant keeps Auth0's 3 days)."""
    from conftest import run_gangway
    gw = start_gateway("warm")
    run_gangway("tenant", "set", "--store", gw.tenant.store, "--tenant", gw.tenant.issuer, "--session-idle", "4",
                "--allowed-logout-urls", WEB_ORIGIN + "/bye, " + WEB_ORIGIN + "/later")
    return gw


def test_a_session_idle_for_longer_than_the_tenant_allows_is_gone_and_the_tenants_logout_list_applies(short_sessions):
    gw = short_sessions
    app = web_app(gw, gw.tenant)
    browser = Browser(gw)
    callback_parameters(browser.log_in(app, *user(gw.tenant)))
    assert "code" in callback_parameters(browser.authorize(app, prompt="none")), "a fresh session answers silently"
    time.sleep(6)
    assert callback_parameters(browser.authorize(app, prompt="none"))["error"] == "login_required"
    out = browser.get("/v2/logout", returnTo=WEB_ORIGIN + "/bye")
    assert out.status_code == 302 and out.headers["location"] == WEB_ORIGIN + "/bye", "listed on the tenant"
    assert browser.get("/v2/logout", returnTo=WEB_ORIGIN + "/elsewhere").status_code == 400
