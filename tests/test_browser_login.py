"""Universal Login in a real browser: headless Chromium (Selenium) signs in to a test SPA (`relying_party.py`, playing
auth0-spa-js's part) through Gangway's hosted login page, against the real gateway.

The stories: the code flow with PKCE (the hosted page, a verified ID token, an access token /userinfo takes);
silent authentication in a hidden iframe (response_mode=web_message, a cross-origin token request with CORS); logout
ending the session (/v2/logout, /oidc/logout); a wrong password ("Wrong email or password.", no session); the login
page refusing to be framed; and a user who exists only in the old Auth0 tenant migrating on their first browser login.
"""

from __future__ import annotations

import json
import time
import os
import urllib.parse
from pathlib import Path
import uuid

import pytest
import requests
from browser import chromium, wait_for  # noqa: F401 - chromium is a fixture
from fake_auth0 import FakeAuth0
from relying_party import RelyingParty
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from hosted_login import create_spa, create_user, get, mgmt_request

from conftest import REPO

# The README's screenshot: written only when asked (GANGWAY_SCREENSHOT=docs/login-page.png), so that a test run leaves
# the checkout clean; every run still takes one (to a temporary file) and checks it is a PNG.
SCREENSHOT = Path(os.environ.get("GANGWAY_SCREENSHOT", "")) if os.environ.get("GANGWAY_SCREENSHOT") else None


@pytest.fixture
def rp(gateway):
    with RelyingParty(gateway.base) as party:
        party.client_id = create_spa(gateway, party.base)["client_id"]
        yield party


# --- steps -----------------------------------------------------------------------------------------------------


def open_login_page(driver, rp, **authorize_params):
    query = ("?" + urllib.parse.urlencode(authorize_params)) if authorize_params else ""
    driver.get(rp.base + "/login" + query)
    wait_for(driver, EC.presence_of_element_located((By.ID, "password")), message="the hosted login page did not appear")
    assert driver.current_url.startswith(rp.gateway + "/u/login?state="), driver.current_url


def submit_credentials(driver, username: str, password: str) -> None:
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit][name=action][value=default]").click()


def callback_outcome(driver, rp) -> dict:
    wait_for(driver, lambda d: d.current_url.startswith(rp.callback) and (
        d.find_elements(By.ID, "result") or d.find_elements(By.ID, "error")), message="no callback at the RP")
    found = driver.find_elements(By.ID, "result") or driver.find_elements(By.ID, "error")
    return json.loads(found[0].get_attribute("textContent"))


def browser_login(driver, rp, user, **authorize_params) -> dict:
    open_login_page(driver, rp, **authorize_params)
    submit_credentials(driver, user["email"], user["password"])
    outcome = callback_outcome(driver, rp)
    assert "error" not in outcome, outcome
    return outcome


def silent_auth(driver, rp) -> dict:
    driver.get(rp.base + "/silent")
    wait_for(driver, lambda d: d.find_element(By.ID, "silent-result").get_attribute("textContent").strip(), timeout=20,
             message="the silent page wrote nothing")
    return json.loads(driver.find_element(By.ID, "silent-result").get_attribute("textContent"))


def session_cookies(driver) -> set[str]:
    """The session cookies the browser holds for the gateway's host, whatever page it is on (DevTools' cookie jar)."""
    jar = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    return {c["name"] for c in jar if c["domain"].lstrip(".") == "127.0.0.1"} & {"auth0", "auth0_compat"}


# --- (a) the code flow with PKCE -------------------------------------------------------------------------------


def test_code_flow_with_pkce_through_the_hosted_page(gateway, rp, chromium):
    user = create_user(gateway)
    open_login_page(chromium, rp)
    assert chromium.find_element(By.ID, "username").get_attribute("autocomplete") == "username"
    assert chromium.find_element(By.ID, "password").get_attribute("type") == "password"
    assert chromium.find_element(By.ID, "password").get_attribute("autocomplete") == "current-password"
    shot = chromium.get_screenshot_as_png()
    assert shot.startswith(b"\x89PNG") and len(shot) > 5000, "a real screenshot of the page"
    if SCREENSHOT:
        SCREENSHOT.write_bytes(shot)

    submit_credentials(chromium, user["email"], user["password"])
    outcome = callback_outcome(chromium, rp)
    assert "error" not in outcome, outcome
    claims, tokens = outcome["claims"], outcome["token_response"]
    assert claims["sub"] == user["user_id"] and claims["aud"] == rp.client_id
    assert isinstance(claims["auth_time"], int) and abs(claims["auth_time"] - time.time()) < 120
    assert claims["sid"], "the ID token names the session"
    assert claims["email"] == user["email"], "scope email"
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    assert session_cookies(chromium) == {"auth0", "auth0_compat"}

    me = requests.get(gateway.base + "userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == user["user_id"] and me.json()["email"] == user["email"]


def test_a_code_is_redeemed_once(gateway, rp, chromium):
    """The RP's callback redeemed the code; the browser's history still has it: a second redemption is refused."""
    user = create_user(gateway)
    open_login_page(chromium, rp)
    [transaction] = [dict(t) for t in rp.transactions.values()]
    submit_credentials(chromium, user["email"], user["password"])
    assert "error" not in callback_outcome(chromium, rp)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(chromium.current_url).query)["code"][0]
    again = rp.redeem(code, transaction)
    assert again.status_code in (400, 403) and again.json()["error"] == "invalid_grant", (again.status_code, again.text)


# --- (b) silent authentication ---------------------------------------------------------------------------------


def test_silent_authentication_after_login(gateway, rp, chromium):
    user = create_user(gateway)
    first = browser_login(chromium, rp, user)
    silent = silent_auth(chromium, rp)
    assert "error" not in silent, silent
    assert silent["token_response"]["access_token"] != first["token_response"]["access_token"]
    claims = rp.verify_id_token(silent["token_response"]["id_token"], silent["nonce"])
    assert claims["sub"] == user["user_id"]
    assert claims["sid"] == first["claims"]["sid"], "the same session"
    assert claims["auth_time"] == first["claims"]["auth_time"], "no new authentication: the session's auth_time"


def test_silent_authentication_without_a_session_is_login_required(gateway, rp, chromium):
    silent = silent_auth(chromium, rp)
    assert silent["error"] == "login_required", silent


def test_the_token_endpoint_answers_cors_for_registered_origins_only(gateway, rp):
    preflight = {"Origin": rp.base, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "auth0-client, content-type"}
    ok = requests.options(gateway.base + "oauth/token", headers=preflight, timeout=10)
    assert ok.status_code in (200, 204), (ok.status_code, ok.text)
    assert ok.headers.get("access-control-allow-origin") == rp.base
    assert "POST" in ok.headers.get("access-control-allow-methods", "").upper()
    assert "auth0-client" in ok.headers.get("access-control-allow-headers", "").lower()
    # An origin no application of this (shared) tenant registered.
    unregistered = f"https://{uuid.uuid4().hex}.example.com"
    stranger = requests.options(gateway.base + "oauth/token", timeout=10, headers={**preflight, "Origin": unregistered})
    assert stranger.headers.get("access-control-allow-origin") not in (unregistered, "*")


# --- (c) logout ------------------------------------------------------------------------------------------------


def test_v2_logout_ends_the_session(gateway, rp, chromium):
    user = create_user(gateway)
    browser_login(chromium, rp, user)
    chromium.get(gateway.base + "v2/logout?" + urllib.parse.urlencode({"client_id": rp.client_id, "returnTo": rp.base + "/"}))
    wait_for(chromium, EC.presence_of_element_located((By.ID, "home")), message="logout did not return to the RP")
    assert chromium.current_url == rp.base + "/"
    assert not session_cookies(chromium), chromium.get_cookies()
    silent = silent_auth(chromium, rp)
    assert silent["error"] == "login_required", silent


def test_oidc_logout_ends_the_session_and_returns_the_state(gateway, rp, chromium):
    user = create_user(gateway)
    outcome = browser_login(chromium, rp, user)
    state = uuid.uuid4().hex
    chromium.get(gateway.base + "oidc/logout?" + urllib.parse.urlencode({
        "id_token_hint": outcome["token_response"]["id_token"], "post_logout_redirect_uri": rp.base + "/",
        "state": state, "client_id": rp.client_id}))
    wait_for(chromium, EC.presence_of_element_located((By.ID, "home")), message="logout did not return to the RP")
    assert chromium.current_url == rp.base + "/?state=" + state
    assert silent_auth(chromium, rp)["error"] == "login_required"


def test_logout_to_an_unregistered_url_is_refused(gateway, rp):
    answer = gateway.get("v2/logout?" + urllib.parse.urlencode({"client_id": rp.client_id, "returnTo": "https://evil.example/"}),
                         allow_redirects=False)
    assert answer.status_code >= 400 and "evil.example" not in answer.headers.get("location", ""), (answer.status_code, answer.headers)


# --- (d) a wrong password --------------------------------------------------------------------------------------


def test_a_wrong_password_shows_auth0s_message_and_makes_no_session(gateway, rp, chromium):
    user = create_user(gateway)
    open_login_page(chromium, rp)
    submit_credentials(chromium, user["email"], "not-the-password")
    error = wait_for(chromium, EC.visibility_of_element_located((By.ID, "error-message")), message="no error message")
    assert "Wrong email or password" in error.text and error.get_attribute("role") == "alert"
    assert urllib.parse.urlsplit(chromium.current_url).path == "/u/login", chromium.current_url
    assert chromium.find_element(By.ID, "password").get_attribute("value") == "", "the password is not echoed back"
    assert not session_cookies(chromium), chromium.get_cookies()
    assert not rp.results, "nothing reached the RP"

    # The page it shows again, the right password: the login goes through (the transaction survived the failure).
    submit_credentials(chromium, user["email"], user["password"])
    assert "error" not in callback_outcome(chromium, rp)


def test_no_session_after_a_wrong_password_silent_auth_is_login_required(gateway, rp, chromium):
    user = create_user(gateway)
    open_login_page(chromium, rp)
    submit_credentials(chromium, user["email"], "not-the-password")
    wait_for(chromium, EC.visibility_of_element_located((By.ID, "error-message")), message="no error message")
    assert silent_auth(chromium, rp)["error"] == "login_required"


# --- (e) no framing --------------------------------------------------------------------------------------------


def test_the_login_page_forbids_framing_by_its_headers(gateway, rp):
    url, _ = rp.new_transaction()
    with requests.Session() as browser:
        to_page = get(browser, url)
        assert to_page.status_code == 302, (to_page.status_code, to_page.text[:300])
        page = get(browser, urllib.parse.urljoin(url, to_page.headers["location"]))
    assert page.status_code == 200
    assert page.headers["x-frame-options"].upper() == "DENY"
    csp = [d.strip() for d in page.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in csp, csp
    assert "no-store" in page.headers["cache-control"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_login_page_does_not_render_in_a_frame_of_another_origin(gateway, rp, chromium):
    open_login_page(chromium, rp)
    login_url = chromium.current_url
    # Control: a frame this harness can look into when framing is allowed (the RP framing its own page).
    chromium.get(rp.base + "/frame?" + urllib.parse.urlencode({"src": rp.base + "/"}))
    chromium.switch_to.frame(wait_for(chromium, EC.presence_of_element_located((By.ID, "framed"))))
    wait_for(chromium, EC.presence_of_element_located((By.ID, "home")), message="the control frame did not render")
    chromium.switch_to.default_content()

    chromium.get(rp.base + "/frame?" + urllib.parse.urlencode({"src": login_url}))
    frame = wait_for(chromium, EC.presence_of_element_located((By.ID, "framed")))
    time.sleep(1.5)  # the frame's navigation has long finished on loopback; its document is Chromium's error page
    chromium.switch_to.frame(frame)
    assert not chromium.find_elements(By.ID, "password"), "the login form rendered inside a foreign frame"
    assert not chromium.find_elements(By.ID, "username")
    assert chromium.execute_script("return document.URL") != login_url, "the framed document is Chromium's refusal page"
    chromium.switch_to.default_content()


# --- (f) a migrated user's first browser login -----------------------------------------------------------------


UPSTREAM_SECRET = "upstream-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def migrating_gateway(start_gateway):
    """A gateway of its own whose database connection is in import mode against a fake old Auth0 tenant."""
    with FakeAuth0(client_secret=UPSTREAM_SECRET) as fake:
        gw = start_gateway("warm")
        conn_id = gw.tenant.init["connection"]["id"]
        patched = mgmt_request(gw, "PATCH", f"connections/{conn_id}", json={"options": {"import_mode": True, "configuration": {
            "token_endpoint": fake.base + "/oauth/token", "userinfo_endpoint": fake.base + "/userinfo",
            "client_id": "upstream-client", "client_secret": UPSTREAM_SECRET}}})
        assert patched.status_code == 200, patched.text
        yield gw, fake


def test_a_migrating_users_first_browser_login(migrating_gateway, chromium):
    gw, fake = migrating_gateway
    tag = uuid.uuid4().hex[:10]
    user = {"email": f"up-{tag}@example.com", "password": "Upstream-Pa55!", "sub": f"auth0|up{tag}", "name": f"Up {tag}",
            "nickname": f"up-{tag}", "email_verified": True}
    fake.add_user(**user)
    assert mgmt_request(gw, "GET", "users/" + urllib.parse.quote(user["sub"], safe="")).status_code == 404, "upstream only"

    with RelyingParty(gw.base) as rp:
        rp.client_id = create_spa(gw, rp.base)["client_id"]
        outcome = browser_login(chromium, rp, {"email": user["email"], "password": user["password"]})
        assert outcome["claims"]["sub"] == user["sub"], "the upstream user id is kept"
        assert outcome["claims"]["email"] == user["email"] and outcome["claims"]["sid"]
        upstream_logins = len(fake.calls("/oauth/token"))
        assert upstream_logins == 1, fake.calls()

        local = mgmt_request(gw, "GET", "users/" + urllib.parse.quote(user["sub"], safe=""))
        assert local.status_code == 200, local.text
        assert local.json()["email"] == user["email"] and local.json()["logins_count"] == 1

        # Logged out, the second login is local: no call upstream.
        chromium.get(gw.base + "v2/logout?" + urllib.parse.urlencode({"client_id": rp.client_id, "returnTo": rp.base + "/"}))
        wait_for(chromium, EC.presence_of_element_located((By.ID, "home")))
        again = browser_login(chromium, rp, {"email": user["email"], "password": user["password"]})
        assert again["claims"]["sub"] == user["sub"]
        assert len(fake.calls("/oauth/token")) == upstream_logins, "the second login never went upstream"
