"""Auth0's legacy endpoints answer as a tenant where they are disabled, naming the replacement, and each caller is
noted once per hour as Auth0's `depnote` log event with its client_id (issue 14)."""

from __future__ import annotations

import uuid

import pytest
import requests

from test_auth0_sdk_management import client, management_token

CASES = [
    ("POST", "/oauth/ro", 403, "unauthorized_client", "/oauth/token"),
    ("POST", "/delegation", 403, "unauthorized_client", "refresh tokens"),
    ("POST", "/tokeninfo", 404, "not_found", "/userinfo"),
    ("POST", "/usernamepassword/login", 404, "not_found", "Universal Login"),
    ("GET", "/user/ssodata", 404, "not_found", "prompt=none"),
    ("POST", "/oauth/access_token", 403, "unauthorized_client", "/authorize"),
]


def depnotes(gateway, tenant, client_id: str) -> list:
    entries = client(gateway, management_token(tenant, "read:logs")).logs.list(per_page=100, include_totals=True).items
    return [e for e in entries if e.type == "depnote" and e.client_id == client_id]


@pytest.mark.parametrize("method,path,status,error,replacement", CASES)
def test_a_legacy_endpoint_refuses_names_its_replacement_and_notes_the_caller_once_an_hour(
        gateway, tenant, method, path, status, error, replacement):
    caller = "legacy-app-" + uuid.uuid4().hex[:8]
    kwargs = {"params": {"client_id": caller}} if method == "GET" else {"json": {"client_id": caller, "username": "u", "password": "p"}}
    for _ in range(2):
        answer = requests.request(method, gateway.base + path.lstrip("/"), timeout=10, **kwargs)
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert body["error"] == error and replacement in body["error_description"], body
        assert answer.headers["cache-control"] == "no-store"
    notes = depnotes(gateway, tenant, caller)
    assert len(notes) == 1, "one deprecation notice per application and endpoint per hour"
    assert path in notes[0].description


def test_a_body_that_cannot_be_read_still_gets_the_endpoints_answer(gateway):
    answer = requests.post(gateway.base + "oauth/ro", data=b"\xff\xfe not json", headers={"content-type": "application/json"}, timeout=10)
    assert answer.status_code == 403 and answer.json()["error"] == "unauthorized_client"
