"""Auth0's own Python SDK (auth0-python 6.x) against the real gateway: the Management API and /userinfo.

auth0-python 6.x's Management client is Fern-generated: `auth0.management.Auth0(base_url=..., token=...)`
(its `ManagementClient(domain=...)` hard-codes `https://{domain}/api/v2`, so plain-http tests pass `base_url`).
It percent-encodes ids in paths, parses `created_at`/`updated_at`/`last_login` into datetimes, and asks for
`include_totals=true` (users, logs) and checkpoint paging (`take`, connections) by default.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from auth0.authentication import GetToken, Users
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from conftest import run_gangway

CONNECTION = "Username-Password-Authentication"
ALL_SCOPES = "read:users create:users update:users delete:users read:connections update:connections read:logs"


def sign(tenant, claims: dict, typ: str = "at+jwt") -> str:
    return run_gangway(
        "jwt", "sign", "--store", tenant.store, "--tenant", tenant.issuer, "--type", typ, "--claims", json.dumps(claims)
    ).stdout.strip()


def management_token(tenant, scope: str = ALL_SCOPES, typ: str = "at+jwt") -> str:
    m2m = tenant.init["management"]["client_id"]
    return sign(tenant, {
        "sub": f"{m2m}@clients", "aud": tenant.issuer + "api/v2/", "scope": scope, "azp": m2m, "gty": "client-credentials",
    }, typ)


def client(gateway, token: str) -> Auth0:
    return Auth0(base_url=f"http://127.0.0.1:{gateway.port}/api/v2", token=token, max_retries=0)


def unique_email(prefix: str = "sdk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="module")
def mgmt(gateway, tenant) -> Auth0:
    return client(gateway, management_token(tenant))


def test_users_create_get_list_update_delete(mgmt):
    email = unique_email()
    password = "Sdk-Pa55word-" + uuid.uuid4().hex[:6]
    created = mgmt.users.create(
        connection=CONNECTION, email=email, password=password, name="SDK User",
        user_metadata={"theme": "dark", "lang": "en"}, app_metadata={"plan": "free"},
    )
    assert created.user_id.startswith("auth0|")
    assert created.email == email and created.name == "SDK User"
    assert isinstance(created.created_at, dt.datetime) and created.created_at.tzinfo is not None
    assert created.identities[0].connection == CONNECTION and created.identities[0].provider == "auth0"
    assert "password" not in created.model_dump() and password not in created.model_dump_json()

    got = mgmt.users.get(created.user_id)  # the SDK sends auth0%7C…
    assert got.user_id == created.user_id and got.email == email

    listed = [u.user_id for u in mgmt.users.list(per_page=100)]
    assert created.user_id in listed and len(listed) == len(set(listed))

    updated = mgmt.users.update(created.user_id, user_metadata={"theme": "light", "lang": None}, blocked=True, nickname="sdk")
    assert updated.user_metadata == {"theme": "light"}
    assert updated.app_metadata == {"plan": "free"}
    assert updated.blocked is True and updated.nickname == "sdk"
    assert updated.updated_at >= created.updated_at

    mgmt.users.delete(created.user_id)
    with pytest.raises(ApiError) as missing:
        mgmt.users.get(created.user_id)
    assert missing.value.status_code == 404
    assert missing.value.body["errorCode"] == "inexistent_user"


def test_users_list_pages_through_everything(mgmt):
    ids = {mgmt.users.create(connection=CONNECTION, email=unique_email("page"), password="Sdk-Pa55word!").user_id for _ in range(3)}
    pager = mgmt.users.list(per_page=2, include_totals=True)
    assert pager.response.total >= 3 and pager.response.limit == 2
    seen = [u.user_id for u in pager]  # the pager fetches page after page until one comes back empty
    assert ids <= set(seen) and len(seen) == len(set(seen)) == pager.response.total


def test_duplicate_and_invalid_users_raise(mgmt):
    email = unique_email("dup")
    mgmt.users.create(connection=CONNECTION, email=email, password="Sdk-Pa55word!")
    with pytest.raises(ApiError) as conflict:
        mgmt.users.create(connection=CONNECTION, email=email.upper(), password="Sdk-Pa55word!")
    assert conflict.value.status_code == 409
    assert conflict.value.body["message"] == "The user already exists."
    with pytest.raises(ApiError) as invalid:
        mgmt.users.create(connection=CONNECTION, email="not-an-email", password="Sdk-Pa55word!")
    assert invalid.value.status_code == 400 and "email" in invalid.value.body["message"]


def test_connections_list_get_update(mgmt, tenant):
    connections = list(mgmt.connections.list())
    assert [c.name for c in connections] == [CONNECTION]
    conn_id = tenant.init["connection"]["id"]
    assert connections[0].id == conn_id and connections[0].strategy == "auth0"
    assert connections[0].realms == [CONNECTION] and connections[0].is_domain_connection is False

    got = mgmt.connections.get(conn_id)
    assert got.name == CONNECTION and tenant.init["management"]["client_id"] in got.enabled_clients

    secret = "sdk-secret-" + uuid.uuid4().hex
    updated = mgmt.connections.update(conn_id, options={"brute_force_protection": True, "configuration": {"client_secret": secret, "url": "https://legacy.example/"}})
    assert updated.options["brute_force_protection"] is True
    assert updated.options["configuration"] == {"url": "https://legacy.example/"}
    assert secret not in updated.model_dump_json() and secret not in mgmt.connections.get(conn_id).model_dump_json()

    with pytest.raises(ApiError) as missing:
        mgmt.connections.get("con_doesnotexist")
    assert missing.value.status_code == 404


def test_logs_list_newest_first(mgmt):
    email = unique_email("log")
    user = mgmt.users.create(connection=CONNECTION, email=email, password="Sdk-Pa55word!")
    mgmt.users.delete(user.user_id)
    page = mgmt.logs.list(per_page=2, include_totals=True)
    newest = page.items
    assert [e.type for e in newest] == ["sapi", "sapi"]
    assert [e.description for e in newest] == ["Delete a User", "Create a User"]
    assert newest[0].user_id == user.user_id


def test_front_door_rejects_id_tokens_and_wrong_scopes(gateway, tenant):
    with pytest.raises(ApiError) as id_token:
        client(gateway, management_token(tenant, typ="JWT")).users.list()
    assert id_token.value.status_code == 401
    with pytest.raises(ApiError) as scope:
        client(gateway, management_token(tenant, scope="read:logs")).users.list()
    assert scope.value.status_code == 403
    assert scope.value.body["message"] == "Insufficient scope, expected any of: read:users"


def test_real_client_credentials_token_drives_the_management_api(gateway, tenant):
    """GetToken.client_credentials → a real access token from /oauth/token → the Management API."""
    domain = f"127.0.0.1:{gateway.port}"
    m2m = tenant.init["management"]
    token = GetToken(domain, m2m["client_id"], client_secret=m2m["client_secret"], protocol="http").client_credentials(
        tenant.issuer + "api/v2/"
    )
    api = client(gateway, token["access_token"])
    created = api.users.create(connection=CONNECTION, email=unique_email("cc"), password="Sdk-Pa55word!")
    assert api.users.get(created.user_id).user_id == created.user_id
    api.users.delete(created.user_id)


def test_userinfo_through_the_sdk(gateway, tenant, mgmt):
    email = unique_email("ui")
    user = mgmt.users.create(connection=CONNECTION, email=email, password="Sdk-Pa55word!", name="UI User", email_verified=True)
    domain = f"127.0.0.1:{gateway.port}"
    token = sign(tenant, {
        "sub": user.user_id, "aud": [tenant.issuer + "api/v2/", tenant.issuer + "userinfo"],
        "scope": "openid profile email", "azp": tenant.client_id,
    })
    info = Users(domain, protocol="http").userinfo(token)
    assert info["sub"] == user.user_id and "user_id" not in info
    assert info["email"] == email and info["email_verified"] is True and info["name"] == "UI User"

    id_token = sign(tenant, {"sub": user.user_id, "aud": tenant.issuer + "userinfo", "scope": "openid"}, typ="JWT")
    with pytest.raises(Auth0Error) as refused:
        Users(domain, protocol="http").userinfo(id_token)
    assert refused.value.status_code == 401

    mgmt.users.update(user.user_id, blocked=True)
    with pytest.raises(Auth0Error) as blocked:
        Users(domain, protocol="http").userinfo(token)
    assert blocked.value.status_code == 401
