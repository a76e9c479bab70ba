"""Bad input is a 4xx in Auth0's shape, never a 500 (issue "Hold under abuse and faults"): a NUL byte or an
over-long value that would reach a store key is refused at the edge — the Host header on every route, the
identifiers of /oauth/token, the path ids of the Management API, the strings of a Management API body."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from conftest import ROUTES, run_gangway


def management_token(tenant) -> str:
    m2m = tenant.init["management"]["client_id"]
    claims = {
        "sub": f"{m2m}@clients", "aud": tenant.issuer + "api/v2/", "azp": m2m, "gty": "client-credentials",
        "scope": "read:users create:users update:users delete:users read:connections update:connections "
        "read:logs read:migration_sources create:migration_sources update:migration_sources delete:migration_sources",
    }
    return run_gangway(
        "jwt", "sign", "--store", tenant.store, "--tenant", tenant.issuer, "--type", "at+jwt", "--claims", json.dumps(claims)
    ).stdout.strip()


def every_route() -> list[tuple[str, str]]:
    table = json.loads(ROUTES.read_text())
    return [(r["method"], r["path"].replace("{id}", "x").replace("{provider}", "auth0").replace("{user_id}", "y"))
            for r in table["routes"]]


@pytest.mark.parametrize("host", ["h" * 600, "h" * 300 + ":3000", "evil.example.com/../x"])
def test_a_host_header_that_cannot_name_a_tenant_is_404_on_every_route(gateway, host):
    for method, path in every_route():
        r = requests.request(method, gateway.base + path.lstrip("/"), headers={"Host": host}, timeout=10)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        body = r.json()
        assert "unknown_tenant" in (body.get("error"), body.get("errorCode")), body


@pytest.mark.parametrize("field,value", [
    ("username", "sam\x00@example.com"),
    ("username", "u" * 5000 + "@example.com"),
    ("client_id", "c" * 1000),
    ("client_id", "abc\x00def"),
    ("audience", "https://" + "a" * 1000 + "/"),
    ("realm", "r" * 600),
])
def test_token_endpoint_refuses_nul_and_over_long_identifiers_with_400(gateway, tenant, field, value):
    body = {
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": tenant.client_id,
        "username": "nobody@example.com", "password": "whatever-password", "realm": "Username-Password-Authentication",
    }
    body[field] = value
    r = requests.post(gateway.base + "oauth/token", json=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request" and field in r.json()["error_description"]
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", [
    "api/v2/users/auth0%7Cabc%00def",
    "api/v2/users/" + "x" * 500,
    "api/v2/connections/" + "c" * 500,
    "api/v2/migration-sources/mgs_%00",
    "api/v2/users/auth0%7Cabc/identities/auth0/" + "y" * 500,
])
def test_management_path_ids_with_nul_or_over_long_are_400_invalid_uri(gateway, tenant, path):
    headers = {"Authorization": f"Bearer {management_token(tenant)}"}
    method = "DELETE" if "identities" in path else "GET"
    r = requests.request(method, gateway.base + path, headers=headers, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "invalid_uri" and r.json()["statusCode"] == 400


def test_a_nul_in_a_new_users_username_is_400_and_leaves_the_email_free(gateway, tenant):
    headers = {"Authorization": f"Bearer {management_token(tenant)}"}
    email = f"nul-{uuid.uuid4().hex[:8]}@example.com"
    for bad in ({"username": "bad\x00name"}, {"user_id": "abc\x00def"}, {"username": "n" * 5000}):
        user = {"connection": "Username-Password-Authentication", "email": email, "password": "Str0ng-Passw0rd!", **bad}
        r = requests.post(gateway.base + "api/v2/users", json=user, headers=headers, timeout=10)
        assert r.status_code == 400, r.text
        assert r.json()["errorCode"] == "invalid_body"
    ok = requests.post(gateway.base + "api/v2/users", json={
        "connection": "Username-Password-Authentication", "email": email, "password": "Str0ng-Passw0rd!",
    }, headers=headers, timeout=10)
    assert ok.status_code == 201, ok.text
