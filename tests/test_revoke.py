"""POST /oauth/revoke through Auth0's own SDK (`auth0.authentication.RevokeToken`) against the real gateway: a
refresh token's whole family dies; unknown and foreign tokens are 200 and change nothing; a client that fails to
authenticate is 401 invalid_client; a missing token is 400.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from auth0.authentication import GetToken, RevokeToken
from auth0.authentication.exceptions import Auth0Error

from test_auth0_sdk_clients import password_user
from test_auth0_sdk_management import CONNECTION, client, management_token


@pytest.fixture(scope="module")
def mgmt(gateway, tenant):
    return client(gateway, management_token(tenant, "read:clients create:clients"))


def app_and_tokens(gateway, tenant, mgmt):
    app = mgmt.clients.create(name="revoke-" + uuid.uuid4().hex[:6], grant_types=["password", "refresh_token"])
    email, password = password_user(tenant)
    auth = GetToken(f"127.0.0.1:{gateway.port}", app.client_id, client_secret=app.client_secret, protocol="http")
    return app, auth, auth.login(email, password, realm=CONNECTION, scope="openid offline_access")["refresh_token"]


def revoker(gateway, app, secret: str | None = None) -> RevokeToken:
    return RevokeToken(f"127.0.0.1:{gateway.port}", app.client_id, client_secret=secret or app.client_secret, protocol="http")


def test_revoking_kills_the_whole_family(gateway, tenant, mgmt):
    app, auth, first = app_and_tokens(gateway, tenant, mgmt)
    second = auth.refresh_token(first)["refresh_token"]  # rotated: first and second are one family
    revoker(gateway, app).revoke_refresh_token(first)
    for token in (second, first):
        with pytest.raises(Auth0Error) as refused:
            auth.refresh_token(token)
        assert refused.value.status_code == 403 and refused.value.error_code == "invalid_grant"


def test_unknown_and_foreign_tokens_are_200_and_change_nothing(gateway, tenant, mgmt):
    app, auth, token = app_and_tokens(gateway, tenant, mgmt)
    other, _, _ = app_and_tokens(gateway, tenant, mgmt)
    revoker(gateway, app).revoke_refresh_token("v1." + "A" * 43)  # unknown, Gangway-shaped
    revoker(gateway, app).revoke_refresh_token("some-upstream-token")  # not Gangway's
    revoker(gateway, other).revoke_refresh_token(token)  # another application's
    assert auth.refresh_token(token)["refresh_token"], "the token still works"


def test_a_bad_client_is_401_invalid_client_and_a_missing_token_400(gateway, tenant, mgmt):
    app, auth, token = app_and_tokens(gateway, tenant, mgmt)
    with pytest.raises(Auth0Error) as bad:
        revoker(gateway, app, secret="not-the-secret-" + uuid.uuid4().hex).revoke_refresh_token(token)
    assert bad.value.status_code == 401 and bad.value.error_code == "invalid_client"
    assert auth.refresh_token(token)["refresh_token"], "a refused revocation revokes nothing"
    missing = requests.post(f"http://127.0.0.1:{gateway.port}/oauth/revoke", timeout=10,
                            json={"client_id": app.client_id, "client_secret": app.client_secret})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert missing.headers["cache-control"] == "no-store"


def test_a_revocation_is_logged_as_srrt(gateway, tenant, mgmt):
    app, _, token = app_and_tokens(gateway, tenant, mgmt)
    revoker(gateway, app).revoke_refresh_token(token)
    logs = client(gateway, management_token(tenant, "read:logs")).logs.list(per_page=5, include_totals=True).items
    assert any(entry.type == "srrt" and entry.client_id == app.client_id for entry in logs)
