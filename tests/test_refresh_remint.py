"""Refresh-token re-mint (issue 4): `/api/v2/migration-sources` and the refresh_token grant for tokens Gangway
never issued, against the real gateway and two fake upstream Auth0 tenants (tests/fake_auth0.py).

Each test gets its own sources (all deleted first) and fresh upstream tokens; the fakes' call logs are cleared.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid

import pytest
import requests
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from conftest import run_gangway
from fake_auth0 import FakeAuth0

MIGRATION_SCOPES = "read:migration_sources create:migration_sources update:migration_sources delete:migration_sources"
ALL_SCOPES = MIGRATION_SCOPES + " read:users create:users update:users read:logs"
SECRET_A = "upstream-secret-A-" + uuid.uuid4().hex
SECRET_B = "upstream-secret-B-" + uuid.uuid4().hex


class Api:
    """The Management API and /oauth/token of one gateway, as raw HTTP."""

    def __init__(self, gateway, scope: str = ALL_SCOPES):
        self.gw = gateway
        self.tenant = gateway.tenant
        self.token = self.sign(scope)
        self.app = self.tenant.init["app"]

    def sign(self, scope: str) -> str:
        m2m = self.tenant.init["management"]["client_id"]
        claims = {"sub": f"{m2m}@clients", "aud": self.tenant.issuer + "api/v2/", "scope": scope, "azp": m2m, "gty": "client-credentials"}
        return run_gangway(
            "jwt", "sign", "--store", self.tenant.store, "--tenant", self.tenant.issuer, "--type", "at+jwt", "--claims", json.dumps(claims)
        ).stdout.strip()

    def call(self, method: str, path: str, body=None, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.gw.request(method, "/api/v2/" + path.lstrip("/"), json=body, headers=headers)

    def create_source(self, fake: FakeAuth0, secret: str, **fields) -> dict:
        body = {
            "name": fields.pop("name", "Upstream " + uuid.uuid4().hex[:6]), "provider": "auth0",
            "credentials": {"domain": fake.base, "client_id": fake.state.client_id, "client_secret": secret},
        }
        body.update(fields)
        r = self.call("POST", "migration-sources", body)
        assert r.status_code == 201, r.text
        return r.json()

    def clear_sources(self):
        for source in self.call("GET", "migration-sources").json():
            assert self.call("DELETE", f"migration-sources/{source['id']}").status_code == 204

    def refresh(self, refresh_token: str, **extra) -> requests.Response:
        body = {"grant_type": "refresh_token", "client_id": self.app["client_id"], "client_secret": self.app["client_secret"],
                "refresh_token": refresh_token, **extra}
        return self.gw.request("POST", "/oauth/token", json=body)

    def logs(self) -> list[dict]:
        r = self.call("GET", "logs?per_page=100")
        assert r.status_code == 200, r.text
        return r.json()

    def store_dump(self) -> str:
        return run_gangway("store", "list", "--store", self.tenant.store, "--prefix", "").stdout


def user_path(user_id: str) -> str:
    return "users/" + urllib.parse.quote(user_id, safe="")


def jwt_claims(token: str) -> dict:
    import base64

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def fake_a():
    with FakeAuth0("upstream-client-A", SECRET_A) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_b():
    with FakeAuth0("upstream-client-B", SECRET_B) as fake:
        yield fake


@pytest.fixture(scope="module")
def gw(start_gateway):
    return start_gateway("warm")


@pytest.fixture(scope="module")
def api(gw) -> Api:
    return Api(gw)


@pytest.fixture(autouse=True)
def clean(request, fake_a, fake_b):
    for fake in (fake_a, fake_b):
        fake.set_mode(token="ok", userinfo="ok", delay_ms=0)
        with fake.state.lock:
            fake.state.calls.clear()
    if "api" in request.fixturenames:
        request.getfixturevalue("api").clear_sources()
    yield


def upstream_user(fake: FakeAuth0, sub: str | None = None, rotate: bool = True, **profile) -> tuple[str, str, str]:
    """A user known only upstream and a refresh token the upstream issued them: (token, sub, email)."""
    sub = sub or "auth0|" + uuid.uuid4().hex[:24]
    email = profile.pop("email", f"up-{uuid.uuid4().hex[:10]}@example.com")
    fake.add_user(sub=sub, email=email, email_verified=True, name="Up Stream", nickname="up", password="unused", **profile)
    token = "up_rt_" + uuid.uuid4().hex + uuid.uuid4().hex
    fake.add_refresh_token(token, sub, rotate=rotate)
    return token, sub, email


def token_calls(fake: FakeAuth0) -> list[dict]:
    return fake.calls("/oauth/token")


# --- Management API: migration sources ---------------------------------------------------------------------------


def test_create_get_list_and_the_secret_is_write_only(api, fake_a):
    created = api.create_source(fake_a, SECRET_A, name="Legacy Auth0")
    assert created["id"].startswith("mgs_")
    assert created["name"] == "Legacy Auth0" and created["provider"] == "auth0" and created["enabled"] is True
    assert created["connection"] == "Username-Password-Authentication", "the tenant's default connection"
    assert created["credentials"]["domain"] == fake_a.base and created["credentials"]["client_id"] == "upstream-client-A"
    assert created["credentials"]["client_secret_hint"] == "…" + SECRET_A[-4:]
    assert "client_secret" not in created["credentials"]
    assert created["created_at"].endswith("Z") and created["updated_at"] == created["created_at"]

    got = api.call("GET", f"migration-sources/{created['id']}")
    assert got.status_code == 200 and got.json() == created
    listed = api.call("GET", "migration-sources")
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [created["id"]]
    totals = api.call("GET", "migration-sources?include_totals=true").json()
    assert totals["total"] == 1 and totals["migration_sources"][0]["id"] == created["id"]
    for response in (got, listed):
        assert SECRET_A not in response.text

    dump = api.store_dump()
    assert SECRET_A not in dump, "the store holds only the sealed secret"
    record = next(line for line in dump.splitlines() if line.split("\t")[0].endswith(f"/migration-sources/{created['id']}"))
    assert '"gw1.' in record


def test_sources_are_listed_in_creation_order(api, fake_a, fake_b):
    ids = [api.create_source(fake, secret)["id"] for fake, secret in ((fake_b, SECRET_B), (fake_a, SECRET_A), (fake_b, SECRET_B))]
    assert [s["id"] for s in api.call("GET", "migration-sources").json()] == ids


@pytest.mark.parametrize("body, field", [
    ({"credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s"}}, "name"),
    ({"name": "n"}, "credentials"),
    ({"name": "n", "provider": "okta", "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s"}}, "provider"),
    ({"name": "n", "enabled": "yes", "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s"}}, "enabled"),
    ({"name": "n", "connection": "nope", "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s"}}, "connection"),
    ({"name": "n" * 129, "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s"}}, "name"),
    ({"name": "n", "extra": 1, "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s"}}, "extra"),
    ({"name": "n", "credentials": {"client_id": "c", "client_secret": "s"}}, "credentials.domain"),
    ({"name": "n", "credentials": {"domain": "x.auth0.com", "client_secret": "s"}}, "credentials.client_id"),
    ({"name": "n", "credentials": {"domain": "x.auth0.com", "client_id": "c"}}, "credentials.client_secret"),
    ({"name": "n", "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "***"}}, "credentials.client_secret"),
    ({"name": "n", "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": 5}}, "credentials.client_secret"),
    ({"name": "n", "credentials": {"domain": "x.auth0.com", "client_id": "c", "client_secret": "s", "color": "red"}}, "credentials.color"),
    ({"name": "n", "credentials": {"domain": "http://example.com", "client_id": "c", "client_secret": "s"}}, "credentials.domain"),
    ({"name": "n", "credentials": {"domain": "https://x.auth0.com/oauth", "client_id": "c", "client_secret": "s"}}, "credentials.domain"),
    ({"name": "n", "credentials": {"domain": "user@x.auth0.com", "client_id": "c", "client_secret": "s"}}, "credentials.domain"),
    ({"name": "n", "credentials": {"domain": "x.auth0.com:99999", "client_id": "c", "client_secret": "s"}}, "credentials.domain"),
    ({"name": "n", "credentials": {"domain": "ftp://x.auth0.com", "client_id": "c", "client_secret": "s"}}, "credentials.domain"),
    ({"name": "n", "credentials": "x.auth0.com"}, "credentials"),
])
def test_create_validation_names_the_field(api, body, field):
    r = api.call("POST", "migration-sources", body)
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "invalid_body" and field in r.json()["message"], r.json()
    assert api.call("GET", "migration-sources").json() == [], "nothing is written before the input is valid"


@pytest.mark.parametrize("domain", ["tenant.eu.auth0.com", "tenant.auth0.com:8443", "https://tenant.auth0.com", "https://tenant.auth0.com/",
                                    "http://127.0.0.1:9", "http://localhost:9"])
def test_accepted_domains(api, domain):
    r = api.call("POST", "migration-sources", {"name": "d", "credentials": {"domain": domain, "client_id": "c", "client_secret": "s"}})
    assert r.status_code == 201, r.text
    assert r.json()["credentials"]["domain"] == domain.rstrip("/")


def test_patch_is_partial_and_keeps_the_secret(api, fake_a):
    created = api.create_source(fake_a, SECRET_A, enabled=False, credentials={
        "domain": fake_a.base, "client_id": "upstream-client-A", "client_secret": SECRET_A, "scope": "openid profile",
    })
    sid = created["id"]

    def sealed() -> str:
        line = next(line for line in api.store_dump().splitlines() if line.split("\t")[0].endswith(f"/migration-sources/{sid}"))
        return json.loads(line.split("\t", 2)[2])["credentials"]["clientSecretSealed"]

    before = sealed()
    renamed = api.call("PATCH", f"migration-sources/{sid}", {"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Renamed" and renamed.json()["enabled"] is False, "omitting enabled never flips it"
    assert renamed.json()["credentials"]["scope"] == "openid profile"
    assert renamed.json()["updated_at"] >= created["updated_at"]

    # Echoing the response's credentials (with its hint), or a redacted placeholder, keeps the stored secret.
    echoed = api.call("PATCH", f"migration-sources/{sid}", {"credentials": renamed.json()["credentials"]})
    assert echoed.status_code == 200, echoed.text
    for mask in ("***", "********", "…" + SECRET_A[-4:]):
        r = api.call("PATCH", f"migration-sources/{sid}", {"credentials": {"client_secret": mask}})
        assert r.status_code == 200, r.text
    assert api.call("PATCH", f"migration-sources/{sid}", {"credentials": {"audience": "https://up.example/"}}).status_code == 200
    assert sealed() == before

    # Only the sent credential fields change; null deletes an optional one.
    r = api.call("PATCH", f"migration-sources/{sid}", {"credentials": {"scope": None}, "enabled": True})
    assert r.status_code == 200 and "scope" not in r.json()["credentials"] and r.json()["enabled"] is True
    assert r.json()["credentials"]["audience"] == "https://up.example/" and r.json()["name"] == "Renamed"

    # Moving the stored secret to another host or client needs the secret again.
    moved = api.call("PATCH", f"migration-sources/{sid}", {"credentials": {"domain": "evil.example.com"}})
    assert moved.status_code == 400 and "credentials.client_secret" in moved.json()["message"]
    assert api.call("PATCH", f"migration-sources/{sid}", {"credentials": {"client_id": "other"}}).status_code == 400
    assert sealed() == before and api.call("GET", f"migration-sources/{sid}").json()["credentials"]["domain"] == fake_a.base

    new_secret = "rotated-secret-" + uuid.uuid4().hex
    r = api.call("PATCH", f"migration-sources/{sid}", {"credentials": {"client_secret": new_secret}})
    assert r.status_code == 200 and r.json()["credentials"]["client_secret_hint"] == "…" + new_secret[-4:]
    assert sealed() != before and new_secret not in api.store_dump() and new_secret not in r.text

    for body, field in [({"enabled": None}, "enabled"), ({"name": ""}, "name"), ({"id": "mgs_x"}, "id"), ({"provider": "okta"}, "provider")]:
        bad = api.call("PATCH", f"migration-sources/{sid}", body)
        assert bad.status_code == 400 and field in bad.json()["message"], bad.text


def test_delete_not_found_scopes_and_audit(api, fake_a):
    created = api.create_source(fake_a, SECRET_A)
    sid = created["id"]
    read_only = api.sign("read:migration_sources")
    assert api.call("POST", "migration-sources", {"name": "x"}, token=read_only).status_code == 403
    assert api.call("PATCH", f"migration-sources/{sid}", {"name": "x"}, token=read_only).status_code == 403
    assert api.call("DELETE", f"migration-sources/{sid}", token=read_only).status_code == 403
    assert api.call("GET", "migration-sources", token=api.sign("read:users")).status_code == 403
    assert api.call("GET", "migration-sources", token="nope").status_code == 401

    assert api.call("DELETE", f"migration-sources/{sid}").status_code == 204
    for method in ("GET", "PATCH", "DELETE"):
        r = api.call(method, f"migration-sources/{sid}", {"name": "x"} if method == "PATCH" else None)
        assert r.status_code == 404 and r.json()["errorCode"] == "inexistent_migration_source", r.text

    logs = api.logs()
    descriptions = [(e["type"], e["description"]) for e in logs]
    assert ("sapi", "Create a Migration Source") in descriptions and ("sapi", "Delete a Migration Source") in descriptions
    assert ("fapi", "Delete a Migration Source") in descriptions
    assert SECRET_A not in json.dumps(logs)


# --- Re-mint -----------------------------------------------------------------------------------------------------


def test_remint_once_and_only_once(api, gw, fake_a):
    api.create_source(fake_a, SECRET_A)
    token, sub, email = upstream_user(fake_a, rotate=True)
    r = api.refresh(token, scope="openid profile email offline_access")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "openid profile email offline_access"
    assert body["refresh_token"].startswith("v1.") and len(body["refresh_token"]) == 46, "a Gangway refresh token"
    assert jwt_claims(body["id_token"])["sub"] == sub and jwt_claims(body["id_token"])["email"] == email
    assert jwt_claims(body["access_token"])["sub"] == sub
    assert run_gangway("jwt", "verify", body["access_token"], "--store", gw.store, "--tenant", gw.tenant.issuer).returncode == 0

    calls = fake_a.calls()
    assert [c["path"] for c in calls] == ["/oauth/token", "/userinfo"]
    sent = calls[0]["body"]
    assert sent["grant_type"] == "refresh_token" and sent["client_id"] == "upstream-client-A" and sent["refresh_token"] == token
    assert calls[0]["headers"].get("auth0-forwarded-for") == "127.0.0.1"

    again = api.refresh(token, scope="openid")
    assert again.status_code == 403, again.text
    assert again.json() == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    assert len(fake_a.calls()) == 2, "the second presentation never goes upstream"

    logs = api.logs()
    success = next(e for e in logs if e["type"] == "sertft" and e.get("user_id") == sub)
    assert success["details"]["migrated_from"] and success["details"]["user_created"] is True
    refused = next(e for e in logs if e["type"] == "fertft")
    assert "once" in refused["description"]
    assert token not in json.dumps(logs) and SECRET_A not in json.dumps(logs)
    assert token not in gw.log() and SECRET_A not in gw.log()


def test_a_non_rotating_upstream_token_cannot_be_reminted_twice(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    token, sub, _ = upstream_user(fake_a, rotate=False)
    assert api.refresh(token).status_code == 200
    for _ in range(2):
        r = api.refresh(token)
        assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    assert len(token_calls(fake_a)) == 1


def test_concurrent_presentations_one_wins(start_gateway, fake_a):
    cgi = Api(start_gateway("cgi"))  # one process per request: the presentations really run at once
    cgi.create_source(fake_a, SECRET_A)
    token, _, _ = upstream_user(fake_a, rotate=False)
    fake_a.set_mode(delay_ms=400)  # every upstream answer is slow, so the presentations overlap
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cgi.refresh(token).status_code)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 403, 403, 403], results
    assert len(token_calls(fake_a)) == 1


def test_concurrent_first_refreshes_of_one_user_create_one_user(start_gateway, fake_a):
    """Two devices of the same upstream user, each with its own upstream token, refresh at once: both get
    Gangway tokens for the one local user (insert-if-absent on the id and email, the loser re-reads)."""
    cgi = Api(start_gateway("cgi"))
    cgi.create_source(fake_a, SECRET_A)
    token, sub, email = upstream_user(fake_a)
    tokens = [token] + ["up_rt_" + uuid.uuid4().hex for _ in range(3)]
    for t in tokens[1:]:
        fake_a.add_refresh_token(t, sub)
    fake_a.set_mode(delay_ms=200)
    results: list[requests.Response] = []
    threads = [threading.Thread(target=lambda t=t: results.append(cgi.refresh(t, scope="openid"))) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    assert {jwt_claims(r.json()["id_token"])["sub"] for r in results} == {sub}
    users = cgi.call("GET", "users?per_page=100").json()
    assert [u["user_id"] for u in users if u.get("email") == email] == [sub]
    created = [e["details"]["user_created"] for e in cgi.logs() if e["type"] == "sertft"]
    assert sorted(created) == [False, False, False, True]


def test_disabled_sources_are_skipped(api, fake_a, fake_b):
    api.create_source(fake_a, SECRET_A, enabled=False)
    source_b = api.create_source(fake_b, SECRET_B)
    token, sub, _ = upstream_user(fake_a)
    fake_b.add_user(sub=sub, email="b@example.com", password="x")
    fake_b.add_refresh_token(token, sub)
    r = api.refresh(token)
    assert r.status_code == 200, r.text
    assert fake_a.calls() == [], "a disabled source is never called"
    assert next(e for e in api.logs() if e["type"] == "sertft")["details"]["migrated_from"] == source_b["id"]

    api.clear_sources()
    api.create_source(fake_a, SECRET_A, enabled=False)
    other, _, _ = upstream_user(fake_a)
    r = api.refresh(other)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    assert fake_a.calls() == []
    assert "no enabled migration source" in json.dumps(api.logs()[0]["details"])


@pytest.mark.parametrize("modes, calls_at_a, cause", [
    ({"token": "403"}, 1, "token endpoint answered 403"),
    ({"token": "401"}, 1, "token endpoint answered 401"),
    ({"token": "429"}, 1, "token endpoint answered 429"),
    ({"token": "500"}, 2, "token endpoint answered 500 upstream_500 (after one retry)"),
    ({"token": "503"}, 2, "token endpoint answered 503"),
    ({"token": "drop"}, 2, "network error"),
    ({"token": "malformed"}, 1, "without a JSON access_token"),
    ({"userinfo": "500"}, 3, "userinfo answered 500"),
    ({"userinfo": "401"}, 2, "userinfo answered 401"),
    ({"userinfo": "malformed"}, 2, "userinfo answered 200 without a usable JSON sub"),
    ({"token": "unknown token"}, 1, "token endpoint answered 403 invalid_grant"),
    ({"token": "wrong secret"}, 1, "token endpoint answered 401 access_denied"),
])
def test_the_next_source_is_tried_when_one_fails(api, fake_a, fake_b, modes, calls_at_a, cause):
    kind = modes.get("token")
    source_a = api.create_source(fake_a, "not-the-secret" if kind == "wrong secret" else SECRET_A)
    source_b = api.create_source(fake_b, SECRET_B)
    token, sub, _ = upstream_user(fake_b)
    if kind != "unknown token":
        fake_a.add_user(sub=sub, email="a@example.com", password="x")
        fake_a.add_refresh_token(token, sub)
    if kind not in ("unknown token", "wrong secret"):
        fake_a.set_mode(**modes)
    r = api.refresh(token)
    assert r.status_code == 200, r.text
    assert len(fake_a.calls()) == calls_at_a, fake_a.calls()
    entry = next(e for e in api.logs() if e["type"] == "sertft")
    assert entry["details"]["migrated_from"] == source_b["id"]
    failure = entry["details"]["upstream"][0]
    assert failure["source"] == source_a["id"] and cause in failure["cause"], failure


def test_a_flaky_upstream_is_retried_once(api, fake_a):
    source = api.create_source(fake_a, SECRET_A)
    token, _, _ = upstream_user(fake_a)
    fake_a.set_mode(token="flaky", userinfo="flaky")
    r = api.refresh(token)
    assert r.status_code == 200, r.text
    assert [c["path"] for c in fake_a.calls()] == ["/oauth/token", "/oauth/token", "/userinfo", "/userinfo"]
    assert next(e for e in api.logs() if e["type"] == "sertft")["details"]["migrated_from"] == source["id"]


def test_every_source_rejecting_gives_invalid_grant_and_fertft(api, gw, fake_a, fake_b):
    source_a = api.create_source(fake_a, SECRET_A)
    source_b = api.create_source(fake_b, SECRET_B)
    fake_b.set_mode(token="503")
    token = "up_rt_unknown_" + uuid.uuid4().hex
    r = api.refresh(token)
    assert r.status_code == 403
    assert r.json() == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    entry = api.logs()[0]
    assert entry["type"] == "fertft" and entry["client_id"] == api.app["client_id"]
    causes = entry["details"]["upstream"]
    assert [c["source"] for c in causes] == [source_a["id"], source_b["id"]]
    assert "403 invalid_grant" in causes[0]["cause"] and "503" in causes[1]["cause"]
    assert token not in json.dumps(api.logs()) and token not in gw.log()

    # A refusal does not burn the token: once an upstream knows it (or is back), it is re-minted.
    fake_b.set_mode(token="ok")
    _, sub, _ = upstream_user(fake_b)
    fake_b.add_refresh_token(token, sub)
    assert api.refresh(token).status_code == 200


def test_auth0_sub_is_kept_not_doubled_and_other_providers_too(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    for sub, provider, identity_id in [("auth0|abc" + uuid.uuid4().hex[:6], "auth0", None),
                                       ("google-oauth2|" + uuid.uuid4().hex[:12], "google-oauth2", None)]:
        token, _, email = upstream_user(fake_a, sub=sub)
        r = api.refresh(token, scope="openid")
        assert r.status_code == 200, r.text
        assert jwt_claims(r.json()["id_token"])["sub"] == sub
        user = api.call("GET", user_path(sub))
        assert user.status_code == 200, user.text
        u = user.json()
        assert u["user_id"] == sub and "auth0|auth0|" not in user.text
        assert u["email"] == email and u["email_verified"] is True and u["name"] == "Up Stream"
        assert u["identities"][0]["provider"] == provider and u["identities"][0]["user_id"] == sub.split("|", 1)[1]


def test_an_existing_local_user_is_reused(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    local_id = "legacy" + uuid.uuid4().hex[:10]
    email = f"{local_id}@example.com"
    created = api.call("POST", "users", {"connection": "Username-Password-Authentication", "email": email, "password": "L0cal-pass-word!",
                                         "user_id": local_id, "name": "Local Name"})
    assert created.status_code == 201, created.text
    sub = created.json()["user_id"]
    assert sub == "auth0|" + local_id
    token, _, _ = upstream_user(fake_a, sub=sub, email=email)
    r = api.refresh(token, scope="openid profile")
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["id_token"])["sub"] == sub and jwt_claims(r.json()["id_token"])["name"] == "Local Name"
    entry = next(e for e in api.logs() if e["type"] == "sertft")
    assert entry["details"]["user_created"] is False and entry["user_id"] == sub

    # A blocked local user is not re-minted.
    assert api.call("PATCH", user_path(sub), {"blocked": True}).status_code == 200
    token2, _, _ = upstream_user(fake_a, sub=sub, email=email)
    blocked = api.refresh(token2)
    assert blocked.status_code == 403 and blocked.json()["error"] == "invalid_grant"
    assert "blocked" in api.logs()[0]["description"]


def test_requested_scope_and_audience_are_honoured(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    token, sub, _ = upstream_user(fake_a)
    r = api.refresh(token, scope="openid email")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid email"
    claims = jwt_claims(r.json()["id_token"])
    assert "email" in claims and "name" not in claims
    assert r.json()["refresh_token"], "a re-mint always hands out a Gangway refresh token"

    management = api.tenant.issuer + "api/v2/"
    token2, _, _ = upstream_user(fake_a)
    r = api.refresh(token2, audience=management, scope="openid read:current_user read:users")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid read:current_user", "a user's token never gets read:users"
    at = jwt_claims(r.json()["access_token"])
    assert management in at["aud"]

    # An unknown audience is refused before anything goes upstream: the token is still good afterwards.
    token3, _, _ = upstream_user(fake_a)
    calls = len(fake_a.calls())
    bad = api.refresh(token3, audience="https://nope.example/")
    assert bad.status_code == 403 and bad.json()["error"] == "access_denied"
    assert len(fake_a.calls()) == calls
    assert api.refresh(token3).status_code == 200


def test_the_minted_refresh_token_then_works_locally(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    token, sub, _ = upstream_user(fake_a)
    first = api.refresh(token, scope="openid offline_access")
    assert first.status_code == 200
    calls = len(fake_a.calls())
    second = api.refresh(first.json()["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first.json()["refresh_token"], "rotated"
    assert jwt_claims(second.json()["id_token"])["sub"] == sub
    third = api.refresh(second.json()["refresh_token"])
    assert third.status_code == 200
    assert len(fake_a.calls()) == calls, "local refreshes make no upstream call"


def test_a_gangway_format_token_never_goes_upstream(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    lookalike = "v1." + "A" * 43
    _, sub, _ = upstream_user(fake_a)
    fake_a.add_refresh_token(lookalike, sub)
    r = api.refresh(lookalike)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    assert fake_a.calls() == []


def test_a_slow_upstream_is_cut_at_the_budget(api, fake_a, fake_b):
    api.create_source(fake_a, SECRET_A)
    api.create_source(fake_b, SECRET_B)
    token, sub, _ = upstream_user(fake_b)
    fake_a.set_mode(token="slow")  # sleeps 10 s
    try:
        run_gangway("tenant", "set", "--store", api.tenant.store, "--tenant", api.tenant.issuer, "--upstream-timeout-ms", "1000")
        started = time.monotonic()
        r = api.refresh(token)
        elapsed = time.monotonic() - started
    finally:
        run_gangway("tenant", "set", "--store", api.tenant.store, "--tenant", api.tenant.issuer, "--upstream-timeout-ms", "3000")
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
    assert 0.9 <= elapsed < 2.5, elapsed
    causes = api.logs()[0]["details"]["upstream"]
    assert "timed out" in causes[0]["cause"] and "time budget exhausted" in causes[1]["cause"], causes
    assert fake_b.calls() == [], "the budget is for the whole exchange"

    # The default budget (3 s) holds too.
    fake_a.set_mode(token="slow")
    started = time.monotonic()
    r = api.refresh(token)
    elapsed = time.monotonic() - started
    assert r.status_code == 403 and 2.9 <= elapsed < 4.5, elapsed


def test_auth0_python_sdk_refreshes_an_upstream_token(api, gw, fake_a):
    """The SDK story: a migration source made through the Management API (raw HTTP: auth0-python 6.8 has no
    migration-sources resource), then `GetToken.refresh_token` with a token only the upstream issued."""
    api.create_source(fake_a, SECRET_A)
    token, sub, email = upstream_user(fake_a)
    app = gw.tenant.init["app"]
    client = GetToken(f"127.0.0.1:{gw.port}", app["client_id"], client_secret=app["client_secret"], protocol="http")
    tokens = client.refresh_token(token)
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(gw.jwks_url), issuer=gw.tenant.issuer, audience=app["client_id"],
    )
    claims = verifier.verify(tokens["id_token"])
    assert claims["sub"] == sub and claims["email"] == email
    again = client.refresh_token(tokens["refresh_token"])
    assert verifier.verify(again["id_token"])["sub"] == sub
    with pytest.raises(Auth0Error) as refused:
        client.refresh_token(token)
    assert refused.value.status_code == 403 and refused.value.error_code == "invalid_grant"


# --- Re-mint as the presenting application ------------------------------------------------------------------------
# Auth0 binds a refresh token to the application it was issued to (the fake does too). Decision: an application
# imported from Auth0 (its client_id brought with the import extension) redeems upstream as itself — its client_id,
# the secret it has just proved (only while that is the imported one), none for a public client; the source's own
# client is tried after that only when the upstream refuses the application itself (401/invalid_client/
# unauthorized_client), within two token requests per source. An invalid_grant is final: the source's client never
# redeems a token bound to another application. Applications not imported use the source's client, as before.

CLIENT_SCOPES = "read:clients create:clients create:client_keys update:client_keys read:logs"


def import_app(api: Api, fake: FakeAuth0 | None, app_type: str, secret: str | None = None, **fields) -> dict:
    """An application moved from Auth0 with its client_id (and secret), registered on the fake upstream unless
    `fake` is None (an id the upstream does not know)."""
    body = {"name": f"{app_type} {uuid.uuid4().hex[:6]}", "app_type": app_type, "client_id": "imp" + uuid.uuid4().hex, **fields}
    if secret:
        body["client_secret"] = secret
    r = api.call("POST", "clients", body, token=api.sign(CLIENT_SCOPES))
    assert r.status_code == 201, r.text
    app = r.json()
    public = app["token_endpoint_auth_method"] == "none"
    if fake:
        fake.add_client(app["client_id"], None if public else secret)
    return {**app, "client_secret": None if public else secret}


def refresh_as(api: Api, app: dict, token: str, secret: str | None = None, basic: bool = False) -> requests.Response:
    secret = secret or app.get("client_secret")
    body = {"grant_type": "refresh_token", "refresh_token": token}
    if basic:
        return api.gw.request("POST", "/oauth/token", data=body, auth=(app["client_id"], secret))
    body["client_id"] = app["client_id"]
    if secret:
        body["client_secret"] = secret
    return api.gw.request("POST", "/oauth/token", json=body)


def bound_token(fake: FakeAuth0, client_id: str) -> tuple[str, str]:
    token, sub, _ = upstream_user(fake, rotate=True)
    fake.add_refresh_token(token, sub, rotate=True, client_id=client_id)
    return token, sub


def test_imported_apps_remint_as_themselves_confidential_with_its_presented_secret_public_with_none(api, gw, fake_a):
    api.create_source(fake_a, SECRET_A)
    secret_a = "imported-secret-A-" + uuid.uuid4().hex
    app_a = import_app(api, fake_a, "regular_web", secret_a)
    app_b = import_app(api, fake_a, "native")
    token_a, sub_a = bound_token(fake_a, app_a["client_id"])
    token_b, sub_b = bound_token(fake_a, app_b["client_id"])

    for app, token, sub in [(app_a, token_a, sub_a), (app_b, token_b, sub_b)]:
        r = refresh_as(api, app, token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert jwt_claims(body["id_token"])["sub"] == sub and jwt_claims(body["id_token"])["aud"] == app["client_id"]
        # The minted Gangway token is bound to the same application and rotates locally.
        assert refresh_as(api, app, body["refresh_token"]).status_code == 200

    sent = [c["body"] for c in token_calls(fake_a)]
    assert [s["client_id"] for s in sent] == [app_a["client_id"], app_b["client_id"]], "one token request each, as itself"
    assert sent[0]["client_secret"] == "[redacted]" and "client_secret" not in sent[1], "a public client sends no secret"

    logs = api.logs()
    for app, sub in [(app_a, sub_a), (app_b, sub_b)]:
        entry = next(e for e in logs if e["type"] == "sertft" and e["user_id"] == sub and "details" in e)  # the re-mint
        assert entry["client_id"] == app["client_id"]
        assert entry["details"]["upstream_client"] == "application" and entry["details"]["upstream_client_id"] == app["client_id"]
    assert secret_a not in json.dumps(logs) and secret_a not in gw.log() and secret_a not in api.store_dump()


def test_a_token_bound_to_app_a_presented_by_app_b_is_refused_without_source_fallback_and_not_burned(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    app_a = import_app(api, fake_a, "regular_web", "imported-secret-A-" + uuid.uuid4().hex)
    app_b = import_app(api, fake_a, "native")
    token_a, sub_a = bound_token(fake_a, app_a["client_id"])

    r = refresh_as(api, app_b, token_a)
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant", r.text
    assert [c["body"]["client_id"] for c in token_calls(fake_a)] == [app_b["client_id"]], "invalid_grant: no fallback"
    refused = api.logs()[0]
    assert refused["type"] == "fertft" and refused["client_id"] == app_b["client_id"]
    [cause] = refused["details"]["upstream"]
    assert cause["client"] == "application" and "403 invalid_grant" in cause["cause"]

    # Not burned: its own application re-mints it.
    r = refresh_as(api, app_a, token_a)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["id_token"])["sub"] == sub_a


def test_an_app_not_imported_remints_with_the_source_client(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    token, sub, _ = upstream_user(fake_a)  # bound to the source's own client
    r = api.refresh(token)  # the tenant's `gangway init` application: not imported
    assert r.status_code == 200, r.text
    assert [c["body"]["client_id"] for c in token_calls(fake_a)] == ["upstream-client-A"]
    entry = next(e for e in api.logs() if e["type"] == "sertft")
    assert entry["details"]["upstream_client"] == "source" and entry["details"]["upstream_client_id"] == "upstream-client-A"

    # A token bound to an imported application is not this application's to redeem through the source's client.
    app_a = import_app(api, fake_a, "native")
    token_a, _ = bound_token(fake_a, app_a["client_id"])
    assert api.refresh(token_a).status_code == 403
    assert refresh_as(api, app_a, token_a).status_code == 200


def test_an_imported_app_the_upstream_does_not_know_falls_back_to_the_source_client_within_two_requests(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    unknown = import_app(api, None, "regular_web", "imported-secret-C-" + uuid.uuid4().hex)
    token, sub, _ = upstream_user(fake_a, rotate=True)  # bound to the source's own client

    # A 5xx, then the application refused: two requests spent, no third for the source's client. Not burned.
    fake_a.set_mode(token="flaky")
    r = refresh_as(api, unknown, token)
    assert r.status_code == 403, r.text
    assert [c["body"]["client_id"] for c in token_calls(fake_a)] == [unknown["client_id"]] * 2

    fake_a.set_mode(token="ok")
    with fake_a.state.lock:
        fake_a.state.calls.clear()
    r = refresh_as(api, unknown, token)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["id_token"])["sub"] == sub
    assert [c["body"]["client_id"] for c in token_calls(fake_a)] == [unknown["client_id"], "upstream-client-A"]
    entry = next(e for e in api.logs() if e["type"] == "sertft")
    assert entry["details"]["upstream_client"] == "source"
    [cause] = entry["details"]["upstream"]
    assert cause["client"] == "application" and "401 access_denied" in cause["cause"]


def test_a_rotated_secret_is_gangways_own_and_never_sent_upstream_the_source_client_redeems(api, gw, fake_a):
    api.create_source(fake_a, SECRET_A)
    app = import_app(api, fake_a, "regular_web", "imported-secret-A-" + uuid.uuid4().hex)
    r = api.call("POST", f"clients/{app['client_id']}/rotate-secret", token=api.sign(CLIENT_SCOPES))
    assert r.status_code == 200, r.text
    rotated = r.json()["client_secret"]
    token, _, _ = upstream_user(fake_a)  # bound to the source's own client
    assert refresh_as(api, app, token, secret=rotated).status_code == 200
    calls = token_calls(fake_a)
    assert [c["body"]["client_id"] for c in calls] == ["upstream-client-A"]
    assert rotated not in json.dumps(calls) and rotated not in gw.log()


def test_a_wrong_or_missing_secret_is_refused_locally_before_any_upstream_call(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    app = import_app(api, fake_a, "regular_web", "imported-secret-A-" + uuid.uuid4().hex)
    token, _ = bound_token(fake_a, app["client_id"])
    assert refresh_as(api, app, token, secret="wrong-secret-" + uuid.uuid4().hex).status_code == 401
    body = {"grant_type": "refresh_token", "refresh_token": token, "client_id": app["client_id"]}
    assert api.gw.request("POST", "/oauth/token", json=body).status_code == 401
    assert fake_a.calls() == []
    assert refresh_as(api, app, token).status_code == 200


def test_a_client_secret_basic_app_redeems_upstream_with_basic(api, fake_a):
    api.create_source(fake_a, SECRET_A)
    app = import_app(api, fake_a, "regular_web", "imported-secret-B-" + uuid.uuid4().hex,
                     token_endpoint_auth_method="client_secret_basic")
    token, sub = bound_token(fake_a, app["client_id"])
    r = refresh_as(api, app, token, basic=True)
    assert r.status_code == 200, r.text
    [call] = token_calls(fake_a)
    assert "client_id" not in call["body"] and "client_secret" not in call["body"]
    assert call["headers"]["authorization"].startswith("Basic ")
