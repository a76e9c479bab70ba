"""Applications (`/api/v2/clients`) through Auth0's own Python SDK (auth0-python 6.x, Fern-generated), against the
real gateway: create, get, list with filters and paging, partial update, rotate-secret, delete; who sees the
secret (creation, rotation, read:client_keys); Gangway's import extension (client_id/client_secret kept, with
create:client_keys); and what the settings change at /oauth/token.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
import requests
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.core.api_error import ApiError

from test_auth0_sdk_management import CONNECTION, client, management_token

CLIENT_SCOPES = "read:clients create:clients update:clients delete:clients update:client_keys"


@pytest.fixture(scope="module")
def mgmt(gateway, tenant):
    return client(gateway, management_token(tenant, CLIENT_SCOPES))


@pytest.fixture(scope="module")
def keys_reader(gateway, tenant):
    return client(gateway, management_token(tenant, "read:clients read:client_keys"))


def name() -> str:
    return "app-" + uuid.uuid4().hex[:8]


def token_request(gateway, body: dict, basic: tuple[str, str] | None = None) -> requests.Response:
    headers = {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    return requests.post(f"http://127.0.0.1:{gateway.port}/oauth/token", data=body, headers=headers, timeout=10)


def test_create_get_list_update_delete(mgmt):
    created = mgmt.clients.create(
        name=name(), app_type="regular_web", callbacks=["https://app.example/callback"],
        allowed_logout_urls=["https://app.example/"], web_origins=["https://app.example"],
        grant_types=["authorization_code", "refresh_token"], client_metadata={"team": "blue"},
        jwt_configuration={"lifetime_in_seconds": 600, "alg": "RS256"}, description="the blue app",
    )
    assert len(created.client_id) == 32 and len(created.client_secret) == 64
    assert created.callbacks == ["https://app.example/callback"] and created.token_endpoint_auth_method == "client_secret_post"
    assert created.jwt_configuration.lifetime_in_seconds == 600 and created.client_metadata == {"team": "blue"}

    got = mgmt.clients.get(created.client_id)
    assert got.name == created.name and got.client_secret is None, "no read:client_keys, no secret"

    listed = mgmt.clients.list(app_type="regular_web", per_page=100)
    assert created.client_id in [c.client_id for c in listed]
    assert all(c.app_type == "regular_web" for c in listed)
    assert created.client_id not in [c.client_id for c in mgmt.clients.list(app_type="spa,native")]

    updated = mgmt.clients.update(created.client_id, callbacks=["https://app.example/cb2"], is_first_party=False)
    assert updated.callbacks == ["https://app.example/cb2"] and updated.is_first_party is False
    assert updated.web_origins == ["https://app.example"] and updated.description == "the blue app", "a PATCH changes only what it names"
    assert created.client_id in [c.client_id for c in mgmt.clients.list(is_first_party=False)]

    mgmt.clients.delete(created.client_id)
    with pytest.raises(ApiError) as missing:
        mgmt.clients.get(created.client_id)
    assert missing.value.status_code == 404 and missing.value.body["errorCode"] == "inexistent_client"


def test_list_pages(mgmt):
    made = {mgmt.clients.create(name=name(), app_type="spa").client_id for _ in range(3)}
    pager = mgmt.clients.list(per_page=2, include_totals=True)
    seen = [c.client_id for c in pager]
    assert made <= set(seen) and len(seen) == len(set(seen)) == pager.response.total


def test_the_secret_is_shown_at_creation_rotation_and_to_read_client_keys_only(gateway, mgmt, keys_reader):
    created = mgmt.clients.create(name=name(), app_type="non_interactive")
    assert keys_reader.clients.get(created.client_id).client_secret == created.client_secret
    assert created.client_secret in [c.client_secret for c in keys_reader.clients.list(per_page=100)]
    assert all(c.client_secret is None for c in mgmt.clients.list(per_page=100))

    rotated = mgmt.clients.rotate_secret(created.client_id)
    assert rotated.client_secret and rotated.client_secret != created.client_secret
    assert keys_reader.clients.get(created.client_id).client_secret == rotated.client_secret
    # The old secret stops at once; the new one works (client_credentials needs a grant: the old one gets 401 first).
    old = token_request(gateway, {"grant_type": "client_credentials", "client_id": created.client_id, "client_secret": created.client_secret})
    assert old.status_code == 401 and old.json()["error"] == "access_denied"


def test_rotate_secret_needs_update_client_keys(gateway, tenant, mgmt):
    created = mgmt.clients.create(name=name())
    no_keys = client(gateway, management_token(tenant, "read:clients update:clients"))
    with pytest.raises(ApiError) as refused:
        no_keys.clients.rotate_secret(created.client_id)
    assert refused.value.status_code == 403


def test_import_extension_keeps_client_id_and_secret(gateway, tenant, mgmt):
    importer = client(gateway, management_token(tenant, "create:clients create:client_keys read:clients"))
    auth0_id = "AbCdEf0123456789" + uuid.uuid4().hex[:16]
    auth0_secret = "auth0-secret-" + uuid.uuid4().hex + uuid.uuid4().hex
    extra = {"additional_body_parameters": {"client_id": auth0_id, "client_secret": auth0_secret}}
    created = importer.clients.create(name=name(), grant_types=["password", "refresh_token"], request_options=extra)
    assert created.client_id == auth0_id and created.client_secret == auth0_secret
    # The kept secret works at /oauth/token as it did on Auth0 (a wrong password, so 403 — but the client is accepted).
    answer = token_request(gateway, {"grant_type": "password", "client_id": auth0_id, "client_secret": auth0_secret,
                                     "username": "nobody@example.com", "password": "x"})
    assert answer.status_code == 403 and answer.json()["error"] == "invalid_grant"

    with pytest.raises(ApiError) as taken:
        importer.clients.create(name=name(), request_options=extra)
    assert taken.value.status_code == 409
    with pytest.raises(ApiError) as not_allowed:  # without create:client_keys, no chosen ids
        mgmt.clients.create(name=name(), request_options={"additional_body_parameters": {"client_id": "x" + auth0_id}})
    assert not_allowed.value.status_code == 403


@pytest.mark.parametrize("body, property_", [
    ({"name": ""}, "name"),
    ({"name": "x", "app_type": "desktop"}, "app_type"),
    ({"name": "x", "grant_types": ["magic"]}, "grant_types"),
    ({"name": "x", "token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method"),
    ({"name": "x", "jwt_configuration": {"alg": "HS256"}}, "jwt_configuration.alg"),
    ({"name": "x", "refresh_token": {"rotation_type": "sometimes"}}, "rotation_type"),
    ({"name": "x", "callbacks": "https://not-a-list"}, "callbacks"),
    ({"name": "x", "sso": True}, "sso"),
])
def test_bad_bodies_are_400_naming_the_property(gateway, tenant, body, property_):
    answer = requests.post(
        f"http://127.0.0.1:{gateway.port}/api/v2/clients", json=body, timeout=10,
        headers={"Authorization": "Bearer " + management_token(tenant, CLIENT_SCOPES)})
    assert answer.status_code == 400 and answer.json()["errorCode"] == "invalid_body"
    assert property_ in answer.json()["message"]


def test_an_empty_patch_is_400(gateway, tenant, mgmt):
    created = mgmt.clients.create(name=name())
    answer = requests.patch(
        f"http://127.0.0.1:{gateway.port}/api/v2/clients/{created.client_id}", json={}, timeout=10,
        headers={"Authorization": "Bearer " + management_token(tenant, CLIENT_SCOPES)})
    assert answer.status_code == 400


# --- What the settings change at /oauth/token ---------------------------------------------------------------

def password_user(tenant) -> tuple[str, str]:
    from conftest import run_gangway
    email, password = f"cli-{uuid.uuid4().hex[:8]}@example.com", "Clients-Pa55word!"
    run_gangway("users", "create", "--store", tenant.store, "--tenant", tenant.issuer, "--email", email, "--password", password)
    return email, password


def test_a_grant_type_the_application_lacks_is_403_unauthorized_client_and_password_covers_password_realm(gateway, tenant, mgmt):
    app = mgmt.clients.create(name=name(), grant_types=["authorization_code"])
    email, password = password_user(tenant)
    answer = token_request(gateway, {"grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret,
                                     "username": email, "password": password})
    assert answer.status_code == 403 and answer.json()["error"] == "unauthorized_client"
    realm = {"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": CONNECTION}
    refused = token_request(gateway, {**realm, "client_id": app.client_id, "client_secret": app.client_secret,
                                      "username": email, "password": password})
    assert refused.status_code == 403 and refused.json()["error"] == "unauthorized_client"
    mgmt.clients.update(app.client_id, grant_types=["password"])
    assert token_request(gateway, {"grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret,
                                   "username": email, "password": password}).status_code == 200
    assert token_request(gateway, {**realm, "client_id": app.client_id, "client_secret": app.client_secret,
                                   "username": email, "password": password}).status_code == 200


def test_the_configured_authentication_method_is_the_only_one(gateway, tenant, mgmt):
    email, password = password_user(tenant)
    login = {"grant_type": "password", "username": email, "password": password}
    post = mgmt.clients.create(name=name(), grant_types=["password"], token_endpoint_auth_method="client_secret_post")
    basic = mgmt.clients.create(name=name(), grant_types=["password"], token_endpoint_auth_method="client_secret_basic")
    public = mgmt.clients.create(name=name(), grant_types=["password"], token_endpoint_auth_method="none", app_type="native")

    assert token_request(gateway, {**login, "client_id": post.client_id, "client_secret": post.client_secret}).status_code == 200
    assert token_request(gateway, login, basic=(post.client_id, post.client_secret)).status_code == 401
    assert token_request(gateway, login, basic=(basic.client_id, basic.client_secret)).status_code == 200
    wrong_place = token_request(gateway, {**login, "client_id": basic.client_id, "client_secret": basic.client_secret})
    assert wrong_place.status_code == 401 and wrong_place.json()["error"] == "access_denied"
    assert token_request(gateway, {**login, "client_id": public.client_id}).status_code == 200
    with_secret = token_request(gateway, {**login, "client_id": public.client_id, "client_secret": public.client_secret})
    assert with_secret.status_code == 401, "a public client accepts no secret"


def test_id_token_lifetime_comes_from_jwt_configuration(gateway, tenant, mgmt):
    email, password = password_user(tenant)
    app = mgmt.clients.create(name=name(), grant_types=["password"], jwt_configuration={"lifetime_in_seconds": 120})
    tokens = GetToken(f"127.0.0.1:{gateway.port}", app.client_id, client_secret=app.client_secret, protocol="http").login(
        email, password, realm=CONNECTION, scope="openid")
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


def test_a_deleted_application_can_no_longer_refresh(gateway, tenant, mgmt):
    email, password = password_user(tenant)
    app = mgmt.clients.create(name=name(), grant_types=["password", "refresh_token"])
    auth = GetToken(f"127.0.0.1:{gateway.port}", app.client_id, client_secret=app.client_secret, protocol="http")
    tokens = auth.login(email, password, realm=CONNECTION, scope="openid offline_access")
    assert tokens["refresh_token"]
    mgmt.clients.delete(app.client_id)
    with pytest.raises(Auth0Error) as refused:
        auth.refresh_token(tokens["refresh_token"])
    assert refused.value.status_code == 401


def test_deleting_an_application_deletes_its_client_grants(gateway, tenant, mgmt):
    grants = client(gateway, management_token(tenant, "read:client_grants create:client_grants"))
    app = mgmt.clients.create(name=name(), app_type="non_interactive")
    grants.client_grants.create(client_id=app.client_id, audience=tenant.issuer + "api/v2/", scope=["read:users"])
    assert [g.client_id for g in grants.client_grants.list(client_id=app.client_id)] == [app.client_id]
    mgmt.clients.delete(app.client_id)
    assert list(grants.client_grants.list(client_id=app.client_id)) == []


def test_a_non_rotating_application_keeps_its_refresh_token(gateway, tenant, mgmt):
    email, password = password_user(tenant)
    app = mgmt.clients.create(name=name(), grant_types=["password", "refresh_token"],
                              refresh_token={"rotation_type": "non-rotating", "expiration_type": "expiring"})
    assert app.refresh_token.rotation_type == "non-rotating"
    auth = GetToken(f"127.0.0.1:{gateway.port}", app.client_id, client_secret=app.client_secret, protocol="http")
    token = auth.login(email, password, realm=CONNECTION, scope="openid offline_access")["refresh_token"]
    for _ in range(3):  # Auth0 answers a non-rotating refresh without a refresh_token: the client keeps its own
        refreshed = auth.refresh_token(token)
        assert refreshed["access_token"] and "refresh_token" not in refreshed
    mgmt.clients.update(app.client_id, refresh_token={"rotation_type": "rotating"})
    rotated = auth.refresh_token(token)["refresh_token"]  # the setting applies to tokens already out
    assert rotated != token and auth.refresh_token(rotated)["refresh_token"]
