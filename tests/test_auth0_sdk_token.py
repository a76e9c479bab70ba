"""POST /oauth/token driven by Auth0's own Python SDK (auth0-python 6.x), against the real gateway.

`GetToken` sends JSON with client_secret_post and Python `None` as JSON null; its `TokenVerifier` must accept
every ID token; errors come back as `Auth0Error` / `RateLimitError` with Auth0's codes.
"""

from __future__ import annotations

import json
import uuid

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from conftest import run_gangway

REALM = "Username-Password-Authentication"
SCOPE = "openid profile email offline_access"


def create_user(tenant, password: str) -> tuple[str, str]:
    """A fresh database user via `gangway users create`; returns (email, user_id)."""
    email = f"sdk-{uuid.uuid4().hex[:10]}@example.com"
    out = run_gangway("users", "create", "--store", tenant.store, "--tenant", tenant.issuer, "--email", email, "--password", password)
    return email, json.loads(out.stdout)["user_id"]


@pytest.fixture
def client(gateway) -> GetToken:
    app = gateway.tenant.init["app"]
    return GetToken(f"127.0.0.1:{gateway.port}", app["client_id"], client_secret=app["client_secret"], protocol="http")


@pytest.fixture
def verifier(gateway) -> TokenVerifier:
    return TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(gateway.jwks_url),
        issuer=gateway.tenant.issuer,
        audience=gateway.tenant.init["app"]["client_id"],
    )


def test_login_refresh_and_verify_id_tokens(gateway, client, verifier):
    email, user_id = create_user(gateway.tenant, "sdk-password-1")
    tokens = client.login(email, "sdk-password-1", realm=REALM, scope=SCOPE)
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == SCOPE
    assert tokens["refresh_token"] and tokens["access_token"]
    claims = verifier.verify(tokens["id_token"])
    assert claims["sub"] == user_id and claims["email"] == email

    refreshed = client.refresh_token(tokens["refresh_token"])  # sends scope=""
    assert refreshed["refresh_token"] != tokens["refresh_token"], "refresh tokens rotate"
    assert verifier.verify(refreshed["id_token"])["sub"] == user_id
    again = client.refresh_token(refreshed["refresh_token"], scope="openid")
    assert again["scope"] == "openid"
    verifier.verify(again["id_token"])


def test_client_credentials_for_the_management_api(gateway):
    m2m = gateway.tenant.init["management"]
    cc = GetToken(f"127.0.0.1:{gateway.port}", m2m["client_id"], client_secret=m2m["client_secret"], protocol="http")
    tokens = cc.client_credentials(audience=gateway.tenant.issuer + "api/v2/")
    assert tokens["token_type"] == "Bearer"
    assert "read:users" in tokens["scope"].split()
    assert "id_token" not in tokens and "refresh_token" not in tokens


def test_wrong_password_is_an_auth0_error(gateway, client):
    email, _ = create_user(gateway.tenant, "sdk-password-2")
    with pytest.raises(Auth0Error) as caught:
        client.login(email, "not-the-password", realm=REALM, scope=SCOPE)
    assert caught.value.status_code == 403
    assert caught.value.error_code == "invalid_grant"
    assert caught.value.message == "Wrong email or password."
    assert not isinstance(caught.value, RateLimitError)


def test_lockout_is_a_rate_limit_error(gateway, client):
    email, _ = create_user(gateway.tenant, "sdk-password-3")
    for _ in range(3):
        with pytest.raises(Auth0Error) as caught:
            client.login(email, "guess", realm=REALM)
        assert caught.value.status_code == 403
    with pytest.raises(RateLimitError) as limited:
        client.login(email, "sdk-password-3", realm=REALM)
    assert limited.value.status_code == 429
    assert limited.value.error_code == "too_many_attempts"


def test_refresh_by_an_app_without_the_refresh_grant_is_unauthorized_client(gateway, client):
    email, _ = create_user(gateway.tenant, "sdk-password-4")
    tokens = client.login(email, "sdk-password-4", realm=REALM, scope=SCOPE)
    m2m = gateway.tenant.init["management"]
    other = GetToken(f"127.0.0.1:{gateway.port}", m2m["client_id"], client_secret=m2m["client_secret"], protocol="http")
    with pytest.raises(Auth0Error) as caught:
        other.refresh_token(tokens["refresh_token"])
    # The M2M app may not use the refresh_token grant at all.
    assert caught.value.status_code == 403 and caught.value.error_code == "unauthorized_client"
