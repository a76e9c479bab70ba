"""Authlib (`authlib.integrations.requests_client.OAuth2Session`) as the relying party of Gangway's authorization code
flow, against the real gateway: a public client with PKCE S256, and a confidential "regular_web" application
authenticating with client_secret_basic and with client_secret_post. The hosted login page is driven with plain
`requests` (a cookie-keeping session; the hidden state and csrf read from the form); the code is read from the
final redirect's Location, never followed to the application. ID tokens: the signature with joserfc against the
JWKS, the claims with Authlib's own OpenID Connect rules (`authlib.oidc.core.CodeIDToken`: iss, aud, exp/iat,
nonce, azp, at_hash) plus auth_time and sid.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from hosted_login import create_application, create_user, login_with_requests, parse_page

CALLBACK = "https://authlib-rp.example/callback"
SCOPE = "openid profile email"


def verified_id_token(gateway, token: dict, client_id: str, nonce: str) -> CodeIDToken:
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(gateway.jwks()), algorithms=["RS256"])
    claims = CodeIDToken(dict(decoded.claims), dict(decoded.header), options={
        "iss": {"essential": True, "value": gateway.tenant.issuer},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True}, "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }, params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]})
    claims.validate(now=int(time.time()), leeway=5)
    assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= time.time() + 5, claims
    assert claims["sid"], claims
    return claims


def authorize(gateway, session: OAuth2Session, **params) -> tuple[str, str, str]:
    """The authorization URL Authlib makes, with its state and a nonce."""
    nonce = generate_token(24)
    url, state = session.create_authorization_url(gateway.base + "authorize", nonce=nonce, **params)
    return url, state, nonce


def log_in(url: str, user: dict) -> str:
    with requests.Session() as browser:
        trace = login_with_requests(browser, url, user["email"], user["password"])
    assert trace.submit.status_code == 303, (trace.submit.status_code, trace.submit.text[:500])
    assert trace.resume.status_code == 302, (trace.resume.status_code, trace.resume.text[:500])
    assert trace.redirect.startswith(CALLBACK + "?"), trace.redirect
    return trace.redirect


# --- (a) a public client with PKCE -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spa(gateway):
    return create_application(gateway, app_type="spa", token_endpoint_auth_method="none",
                              grant_types=["authorization_code", "refresh_token"], callbacks=[CALLBACK])


def public_session(spa) -> OAuth2Session:
    return OAuth2Session(spa["client_id"], token_endpoint_auth_method="none", scope=SCOPE, redirect_uri=CALLBACK,
                         code_challenge_method="S256")


def test_public_client_code_flow_with_pkce(gateway, spa):
    user = create_user(gateway)
    session = public_session(spa)
    verifier = generate_token(48)
    url, state, nonce = authorize(gateway, session, code_verifier=verifier)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] and "code_verifier" not in query

    redirect = log_in(url, user)
    callback = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect).query))
    assert callback["state"] == state and callback["code"]
    token = session.fetch_token(gateway.base + "oauth/token", authorization_response=redirect, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    claims = verified_id_token(gateway, token, spa["client_id"], nonce)
    assert claims["sub"] == user["user_id"] and claims["email"] == user["email"]

    me = session.get(gateway.base + "userinfo")  # Authlib puts its token in the Authorization header
    assert me.status_code == 200 and me.json()["sub"] == user["user_id"], me.text


def test_public_client_without_the_verifier_or_with_another_is_invalid_grant(gateway, spa):
    user = create_user(gateway)
    for verifier in (None, generate_token(48)):
        session = public_session(spa)
        url, _, _ = authorize(gateway, session, code_verifier=generate_token(48))
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(log_in(url, user)).query))["code"]
        body = {"grant_type": "authorization_code", "client_id": spa["client_id"], "code": code, "redirect_uri": CALLBACK}
        if verifier:
            body["code_verifier"] = verifier
        refused = requests.post(gateway.base + "oauth/token", data=body, timeout=10)
        assert refused.status_code in (400, 403) and refused.json()["error"] in ("invalid_grant", "invalid_request"), refused.text


def test_a_code_for_one_redirect_uri_is_refused_at_another(gateway, spa):
    user = create_user(gateway)
    session = public_session(spa)
    verifier = generate_token(48)
    url, _, _ = authorize(gateway, session, code_verifier=verifier)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(log_in(url, user)).query))["code"]
    refused = requests.post(gateway.base + "oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "client_id": spa["client_id"], "code": code, "code_verifier": verifier,
        "redirect_uri": "https://authlib-rp.example/other"})
    assert refused.status_code in (400, 403) and refused.json()["error"] in ("invalid_grant", "invalid_request"), refused.text


def test_an_unregistered_redirect_uri_is_a_400_page_without_a_redirect(gateway, spa):
    session = OAuth2Session(spa["client_id"], scope=SCOPE, redirect_uri="https://evil.example/callback", code_challenge_method="S256")
    url, _, _ = authorize(gateway, session, code_verifier=generate_token(48))
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "location" not in answer.headers, (answer.status_code, answer.headers)
    assert answer.headers["content-type"].startswith("text/html")


# --- (b) a confidential web application ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_code_flow(gateway, method):
    app = create_application(gateway, app_type="regular_web", token_endpoint_auth_method=method,
                             grant_types=["authorization_code", "refresh_token"], callbacks=[CALLBACK])
    user = create_user(gateway)
    session = OAuth2Session(app["client_id"], app["client_secret"], token_endpoint_auth_method=method, scope=SCOPE,
                            redirect_uri=CALLBACK)
    url, state, nonce = authorize(gateway, session)
    assert "code_challenge" not in url, "a confidential client may go without PKCE"

    redirect = log_in(url, user)
    sent = {}
    # What Authlib put on the wire for the token request (its own choice of client authentication).
    session.hooks["response"].append(
        lambda response, *args, **kwargs: sent.update(headers=dict(response.request.headers), body=(
            response.request.body.decode() if isinstance(response.request.body, bytes) else response.request.body or "")))
    token = session.fetch_token(gateway.base + "oauth/token", authorization_response=redirect, state=state)
    if method == "client_secret_basic":
        assert sent["headers"]["Authorization"].startswith("Basic ") and "client_secret" not in sent["body"]
    else:
        assert "Authorization" not in sent["headers"] and "client_secret=" in sent["body"]
    claims = verified_id_token(gateway, token, app["client_id"], nonce)
    assert claims["sub"] == user["user_id"]


def test_confidential_client_with_the_wrong_method_or_secret_is_401(gateway):
    app = create_application(gateway, app_type="regular_web", token_endpoint_auth_method="client_secret_basic",
                             grant_types=["authorization_code"], callbacks=[CALLBACK])
    user = create_user(gateway)
    for method, secret in (("client_secret_post", app["client_secret"]), ("client_secret_basic", secrets.token_urlsafe(48))):
        session = OAuth2Session(app["client_id"], secret, token_endpoint_auth_method=method, scope=SCOPE, redirect_uri=CALLBACK)
        url, state, _ = authorize(gateway, session)
        redirect = log_in(url, user)
        with pytest.raises(Exception) as refused:  # Authlib raises OAuthError for an error body
            session.fetch_token(gateway.base + "oauth/token", authorization_response=redirect, state=state)
        assert "access_denied" in str(refused.value) or "invalid_client" in str(refused.value), refused.value


# --- the hosted page's own rules, seen without a browser -------------------------------------------------------


def test_the_login_page_form_and_a_wrong_password(gateway, spa):
    user = create_user(gateway)
    session = public_session(spa)
    url, _, _ = authorize(gateway, session, code_verifier=generate_token(48))
    with requests.Session() as browser:
        trace = login_with_requests(browser, url, user["email"], "not-the-password")
        assert "gangway_tx" in trace.authorize.headers.get("set-cookie", ""), trace.authorize.headers
        assert "httponly" in trace.authorize.headers["set-cookie"].lower()
        page = parse_page(trace.page.text)
        assert page.ids["username"]["autocomplete"] == "username"
        assert page.ids["password"]["type"] == "password" and page.ids["password"]["autocomplete"] == "current-password"
        assert trace.submit.status_code == 400, (trace.submit.status_code, trace.submit.text[:300])
        again = parse_page(trace.submit.text)
        assert again.ids["error-message"]["role"] == "alert"
        assert again.ids["error-message"]["text"] == "Wrong email or password."
        assert "auth0" not in browser.cookies, "no session"


def login_form(page: requests.Response) -> dict:
    forms = [f for f in parse_page(page.text).forms if "password" in f["inputs"]]
    assert page.status_code == 200 and len(forms) == 1, (page.url, page.status_code, page.text[:300])
    return forms[0]["inputs"]


def test_a_login_without_or_with_a_foreign_csrf_is_403(gateway, spa):
    user = create_user(gateway)
    session = public_session(spa)
    url_a, _, _ = authorize(gateway, session, code_verifier=generate_token(48))
    url_b, _, _ = authorize(gateway, session, code_verifier=generate_token(48))
    with requests.Session() as a, requests.Session() as b:
        page_a = a.get(url_a, timeout=10)  # followed to /u/login
        page_b = b.get(url_b, timeout=10)
        form_a, form_b = login_form(page_a), login_form(page_b)
        credentials = {"username": user["email"], "password": user["password"], "action": "default"}
        missing = a.post(page_a.url, data={**credentials, "state": form_a["state"]}, allow_redirects=False, timeout=10)
        assert missing.status_code == 403, missing.status_code
        foreign = a.post(page_a.url, data={**credentials, "state": form_a["state"], "csrf": form_b["csrf"]},
                         allow_redirects=False, timeout=10)
        assert foreign.status_code == 403, foreign.status_code
        assert "auth0" not in a.cookies
