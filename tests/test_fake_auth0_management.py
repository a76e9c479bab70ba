"""The fake upstream Auth0 tenant's Management API v2 (tests/fake_auth0.py), checked on its own with plain HTTP:
the shapes `gangway migrate from-auth0` will read. Needs no Gangway build."""

from __future__ import annotations

import gzip
import json
import re
import time

import pytest
import requests

from fake_auth0 import PASSWORD_REALM, FakeAuth0

MGMT_ID, MGMT_SECRET = "migrator", "migrator-secret"


@pytest.fixture
def fake():
    with FakeAuth0() as f:
        f.add_management_client(MGMT_ID, MGMT_SECRET)
        yield f


def token(fake: FakeAuth0, **extra) -> str:
    r = requests.post(fake.base + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": MGMT_ID, "client_secret": MGMT_SECRET,
        "audience": fake.base + "/api/v2/", **extra}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def get(fake: FakeAuth0, path: str, tok: str, **params) -> requests.Response:
    return requests.get(fake.base + path, params=params, headers={"authorization": f"Bearer {tok}"}, timeout=5)


def test_client_credentials(fake):
    basic = requests.post(fake.base + "/oauth/token", auth=(MGMT_ID, MGMT_SECRET),
                          json={"grant_type": "client_credentials", "audience": fake.management_audience}, timeout=5)
    body = basic.json()
    assert basic.status_code == 200 and body["access_token"].startswith("mgmt_") and body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400 and "read:users" in body["scope"].split() and "read:client_keys" in body["scope"].split()

    def post(**fields):
        return requests.post(fake.base + "/oauth/token", json={"grant_type": "client_credentials", **fields}, timeout=5)

    wrong = post(client_id=MGMT_ID, client_secret="nope", audience=fake.management_audience)
    assert wrong.status_code == 401 and wrong.json() == {"error": "access_denied", "error_description": "Unauthorized"}
    elsewhere = post(client_id=MGMT_ID, client_secret=MGMT_SECRET, audience="https://other/api/v2/")
    assert elsewhere.status_code == 403
    assert elsewhere.json() == {"error": "access_denied", "error_description": "Service not enabled within domain: https://other/api/v2/"}
    app = fake.add_application(name="Web")
    plain = post(client_id=app["client_id"], client_secret=app["client_secret"], audience=fake.management_audience)
    assert plain.status_code == 403 and "client-grant" in plain.json()["error_description"]
    # The lazy-migration grants are untouched.
    fake.add_user(email="a@example.com", password="pw", sub="auth0|a")
    login = requests.post(fake.base + "/oauth/token", data={"grant_type": PASSWORD_REALM, "client_id": "upstream-client",
                                                            "client_secret": "upstream-secret", "username": "a@example.com",
                                                            "password": "pw", "realm": "Username-Password-Authentication"}, timeout=5)
    assert login.status_code == 200 and login.json()["access_token"].startswith("up_at_")


def test_bearer_required(fake):
    for headers in ({}, {"authorization": "Bearer up_at_nope"}, {"authorization": "Bearer mgmt_forged"}):
        r = requests.get(fake.base + "/api/v2/clients", headers=headers, timeout=5)
        assert r.status_code == 401
        assert r.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token", "errorCode": "invalid_token"}
    assert fake.calls("/api/v2/clients"), "calls are recorded"


def test_scopes_are_enforced(fake):
    fake.add_management_client("narrow", "narrow-secret", scopes=["read:clients"])
    r = requests.post(fake.base + "/oauth/token", json={"grant_type": "client_credentials", "client_id": "narrow",
                                                        "client_secret": "narrow-secret", "audience": fake.management_audience}, timeout=5)
    tok = r.json()["access_token"]
    assert r.json()["scope"] == "read:clients"
    clients = get(fake, "/api/v2/clients", tok).json()
    assert all("client_secret" not in c for c in clients), "secrets need read:client_keys"
    denied = get(fake, "/api/v2/connections", tok)
    assert denied.status_code == 403 and denied.json()["errorCode"] == "insufficient_scope"


def test_clients_paging_and_shapes(fake):
    tok = token(fake)
    web = fake.add_application(name="Web", callbacks=["https://app.example/cb"])
    spa = fake.add_application(name="SPA", app_type="spa")
    for i in range(4):
        fake.add_application(name=f"App {i}")
    everything = get(fake, "/api/v2/clients", tok).json()
    assert isinstance(everything, list) and len(everything) == 1 + 6  # the global client, six apps (not the migrator)
    first = everything[0]
    assert first["global"] is True and first["name"] == "All Applications"
    listed_web = next(c for c in everything if c["client_id"] == web["client_id"])
    assert listed_web["client_secret"] == web["client_secret"] and listed_web["callbacks"] == ["https://app.example/cb"]
    assert listed_web["global"] is False and listed_web["app_type"] == "regular_web" and listed_web["tenant"]
    assert listed_web["jwt_configuration"] == {"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": False}
    assert {"rotation_type", "expiration_type", "leeway", "token_lifetime", "infinite_token_lifetime", "idle_token_lifetime",
            "infinite_idle_token_lifetime"} <= set(listed_web["refresh_token"])
    listed_spa = next(c for c in everything if c["client_id"] == spa["client_id"])
    assert "client_secret" not in listed_spa and listed_spa["token_endpoint_auth_method"] == "none"

    page = get(fake, "/api/v2/clients", tok, page=1, per_page=3, include_totals="true").json()
    assert set(page) == {"clients", "start", "limit", "total"}
    assert (page["start"], page["limit"], page["total"]) == (3, 3, 7)
    assert [c["client_id"] for c in page["clients"]] == [c["client_id"] for c in everything[3:6]]
    bare = get(fake, "/api/v2/clients", tok, page=2, per_page=3, include_totals="false").json()
    assert [c["client_id"] for c in bare] == [everything[6]["client_id"]]
    assert get(fake, "/api/v2/clients", tok, page=5, per_page=3).json() == []
    assert len(get(fake, "/api/v2/clients", tok, per_page=100).json()) == 7

    too_many = get(fake, "/api/v2/clients", tok, per_page=101)
    assert too_many.status_code == 400
    assert too_many.json()["errorCode"] == "invalid_query_string" and "per_page" in too_many.json()["message"]
    assert get(fake, "/api/v2/clients", tok, page=-1).status_code == 400
    only = get(fake, "/api/v2/clients", tok, fields="client_id,name", is_global="false").json()
    assert all(set(c) == {"client_id", "name"} for c in only) and len(only) == 6


def test_default_page_is_fifty(fake):
    tok = token(fake)
    for i in range(60):
        fake.add_application(name=f"App {i}")
    assert len(get(fake, "/api/v2/clients", tok).json()) == 50
    totals = get(fake, "/api/v2/clients", tok, page=1, include_totals="true").json()
    assert len(totals["clients"]) == 11 and totals["total"] == 61 and totals["limit"] == 50


def test_apis_grants_connections(fake):
    tok = token(fake)
    app = fake.add_application(name="Web")
    api = fake.add_api(name="Orders", identifier="https://orders.example", scopes=["read:orders", {"value": "write:orders", "description": "Write"}])
    fake.add_client_grant(app["client_id"], api["identifier"], ["read:orders"])
    social = fake.add_connection("google-oauth2", strategy="google-oauth2", scope=["email", "profile"])

    apis = get(fake, "/api/v2/resource-servers", tok, include_totals="true").json()
    assert apis["total"] == 2
    system = apis["resource_servers"][0]
    assert system["is_system"] is True and system["name"] == "Auth0 Management API" and system["identifier"] == fake.base + "/api/v2/"
    orders = apis["resource_servers"][1]
    assert orders["scopes"] == [{"value": "read:orders", "description": "read:orders"}, {"value": "write:orders", "description": "Write"}]
    assert orders["signing_alg"] == "RS256" and {"token_lifetime", "token_lifetime_for_web", "allow_offline_access",
                                                   "skip_consent_for_verifiable_first_party_clients", "id"} <= set(orders)

    grants = get(fake, "/api/v2/client-grants", tok).json()
    assert [(g["client_id"], g["audience"]) for g in grants] == [(app["client_id"], "https://orders.example")]
    assert all(g["id"].startswith("cgr_") and isinstance(g["scope"], list) for g in grants)

    connections = get(fake, "/api/v2/connections", tok).json()
    database = connections[0]
    assert database["name"] == "Username-Password-Authentication" and database["strategy"] == "auth0" and database["id"].startswith("con_")
    assert database["options"]["passwordPolicy"] == "good" and database["realms"] == ["Username-Password-Authentication"]
    assert app["client_id"] in database["enabled_clients"] and database["is_domain_connection"] is False
    assert get(fake, "/api/v2/connections", tok, strategy="google-oauth2").json() == [social]
    both = get(fake, "/api/v2/connections?strategy=auth0&strategy=google-oauth2", tok).json()
    assert len(both) == 2 and social["options"] == {"scope": ["email", "profile"]}


def download(location: str) -> list[dict]:
    r = requests.get(location, timeout=5)
    assert r.status_code == 200 and r.headers["content-type"] == "application/gzip"
    return [json.loads(line) for line in gzip.decompress(r.content).decode().splitlines()]


def test_users_export_job(fake):
    tok = token(fake)
    auth = {"authorization": f"Bearer {tok}"}
    database = fake.add_export_user("Username-Password-Authentication", email="ada@example.com", email_verified=True,
                                    user_metadata={"plan": "pro"}, password="Ada-Pa55!")
    fake.add_export_user("Username-Password-Authentication", email="bob@example.com", username="bob")
    fake.add_export_user("google-oauth2", email="g@example.com")  # another connection, not exported below
    assert re.fullmatch(r"auth0\|[0-9a-f]{24}", database["user_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", database["created_at"])
    assert database["identities"] == [{"connection": "Username-Password-Authentication", "provider": "auth0",
                                       "user_id": database["user_id"][6:], "isSocial": False}]
    con = get(fake, "/api/v2/connections", tok, name="Username-Password-Authentication").json()[0]

    created = requests.post(fake.base + "/api/v2/jobs/users-exports", headers=auth, json={"connection_id": con["id"], "format": "json"}, timeout=5)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["type"] == "users_export" and job["status"] == "pending" and job["id"].startswith("job_")
    assert job["connection_id"] == con["id"] and job["connection"] == "Username-Password-Authentication" and job["format"] == "json"
    fake.add_export_user("Username-Password-Authentication", email="late@example.com")  # before completion: exported

    assert get(fake, f"/api/v2/jobs/{job['id']}", tok).json()["status"] == "pending"
    done = get(fake, f"/api/v2/jobs/{job['id']}", tok).json()
    assert done["status"] == "completed" and done["location"].startswith(f"{fake.base}/_exports/{job['id']}.json.gz")
    fake.add_export_user("Username-Password-Authentication", email="after@example.com")  # after: not exported
    lines = download(done["location"])
    assert [u["email"] for u in lines] == ["ada@example.com", "bob@example.com", "late@example.com"]
    ada = lines[0]
    assert ada["user_id"] == database["user_id"] and ada["user_metadata"] == {"plan": "pro"} and ada["email_verified"] is True
    assert ada["identities"] == database["identities"] and "password" not in ada and "username" not in ada
    assert set(ada) <= {"user_id", "email", "email_verified", "username", "name", "given_name", "family_name", "nickname", "picture",
                        "created_at", "updated_at", "last_login", "logins_count", "blocked", "user_metadata", "app_metadata", "identities"}
    assert lines[1]["username"] == "bob"

    # With fields and export_as: exactly those keys; a missing value leaves its key out.
    fake.set_export_pending_polls(0)
    job = requests.post(fake.base + "/api/v2/jobs/users-exports", headers=auth, json={
        "connection_id": con["id"], "format": "json", "limit": 2,
        "fields": [{"name": "user_id"}, {"name": "email", "export_as": "mail"}, {"name": "username"}]}, timeout=5).json()
    assert job["fields"] == [{"name": "user_id"}, {"name": "email", "export_as": "mail"}, {"name": "username"}] and job["limit"] == 2
    done = get(fake, f"/api/v2/jobs/{job['id']}", tok).json()
    assert done["status"] == "completed"
    assert download(done["location"]) == [{"user_id": database["user_id"], "mail": "ada@example.com"},
                                          {"user_id": lines[1]["user_id"], "mail": "bob@example.com", "username": "bob"}]

    # The exported user with a password also logs in through the password-realm grant.
    login = requests.post(fake.base + "/oauth/token", json={"grant_type": PASSWORD_REALM, "client_id": "upstream-client",
                                                            "client_secret": "upstream-secret", "username": "ada@example.com",
                                                            "password": "Ada-Pa55!", "realm": "Username-Password-Authentication"}, timeout=5)
    assert login.status_code == 200
    info = requests.get(fake.base + "/userinfo", headers={"authorization": "Bearer " + login.json()["access_token"]}, timeout=5).json()
    assert info["sub"] == database["user_id"] and info["email"] == "ada@example.com" and "password" not in info


def test_users_export_errors(fake):
    tok = token(fake)
    auth = {"authorization": f"Bearer {tok}"}
    bad = requests.post(fake.base + "/api/v2/jobs/users-exports", headers=auth, json={"connection_id": "con_nope", "format": "json"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["message"] == "The connection does not exist."
    missing = get(fake, "/api/v2/jobs/job_doesnotexist00", tok)
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found", "message": "The job does not exist.", "errorCode": "inexistent_job"}
    assert requests.get(fake.base + "/_exports/job_nope.json.gz", timeout=5).status_code == 404


def test_injected_faults(fake):
    tok = token(fake)
    fake.fail_next("/api/v2/clients")
    failed = get(fake, "/api/v2/clients", tok)
    assert failed.status_code == 500 and failed.json()["statusCode"] == 500 and failed.json()["error"] == "Internal Server Error"
    assert get(fake, "/api/v2/clients", tok).status_code == 200

    requests.post(fake.base + "/_mode", json={"mgmt_fail": {"/api/v2/connections": {"times": 2, "status": 429}}}, timeout=5)
    for _ in range(2):
        limited = get(fake, "/api/v2/connections", tok)
        assert limited.status_code == 429 and limited.json()["statusCode"] == 429
        assert limited.headers["x-ratelimit-remaining"] == "0" and limited.headers["retry-after"] == "1"
        assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time())
    assert get(fake, "/api/v2/connections", tok).status_code == 200

    requests.post(fake.base + "/_mode", json={"mgmt_fail": {"/oauth/token": 1}}, timeout=5)
    r = requests.post(fake.base + "/oauth/token", json={"grant_type": "client_credentials", "client_id": MGMT_ID,
                                                        "client_secret": MGMT_SECRET, "audience": fake.management_audience}, timeout=5)
    assert r.status_code == 500
    assert token(fake).startswith("mgmt_")


def test_control_routes(fake):
    """The standalone (Swift) way in: the same seeding over HTTP."""
    def control(path, body):
        r = requests.post(fake.base + path, json=body, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    listed = control("/_mgmt_clients", {"client_id": "m2", "client_secret": "m2-secret", "listed": True})
    assert listed["app_type"] == "non_interactive" and listed["client_secret"] == "m2-secret"
    app = control("/_applications", {"name": "Web"})
    control("/_apis", {"identifier": "https://api.example", "name": "API"})
    control("/_client_grants", {"client_id": app["client_id"], "audience": "https://api.example", "scope": []})
    con = control("/_connections", {"name": "db2", "disable_signup": True})
    assert con["options"]["disable_signup"] is True and con["strategy"] == "auth0"
    user = control("/_export_users", {"connection": "db2", "email": "c@example.com"})
    assert user["identities"][0]["connection"] == "db2"
    assert requests.post(fake.base + "/_connections", json={"name": "db2"}, timeout=5).status_code == 409
    control("/_mode", {"export_pending_polls": 0})

    tok = requests.post(fake.base + "/oauth/token", json={"grant_type": "client_credentials", "client_id": "m2",
                                                          "client_secret": "m2-secret", "audience": fake.management_audience}, timeout=5).json()["access_token"]
    job = requests.post(fake.base + "/api/v2/jobs/users-exports", headers={"authorization": f"Bearer {tok}"},
                        json={"connection_id": con["id"], "format": "json"}, timeout=5).json()
    done = get(fake, f"/api/v2/jobs/{job['id']}", tok).json()
    assert [u["email"] for u in download(done["location"])] == ["c@example.com"]
    assert "m2" in [c["client_id"] for c in get(fake, "/api/v2/clients", tok).json()]
    assert ("m2", fake.management_audience) in [(g["client_id"], g["audience"]) for g in get(fake, "/api/v2/client-grants", tok).json()]
    csv_job = requests.post(fake.base + "/api/v2/jobs/users-exports", headers={"authorization": f"Bearer {tok}"},
                            json={"connection_id": con["id"], "fields": [{"name": "email"}, {"name": "user_id", "export_as": "id"}]}, timeout=5).json()
    assert csv_job["format"] == "csv"
    location = get(fake, f"/api/v2/jobs/{csv_job['id']}", tok).json()["location"]
    text = gzip.decompress(requests.get(location, timeout=5).content).decode()
    assert text == f"email,id\nc@example.com,{user['user_id']}\n"
