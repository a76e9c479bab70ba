"""Lazy password migration (issue 4, password fallback): the real gateway (warm, 2 workers) against a fake upstream
Auth0 (`fake_auth0.FakeAuth0`), configured and driven through Auth0's own Python SDK and plain HTTP.

Nothing of Gangway is stubbed: the connection is PATCHed through the Management API, logins go through
`POST /oauth/token`, and the upstream's call log says what Gangway asked it.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from fake_auth0 import PASSWORD_REALM, FakeAuth0

from conftest import GANGWAY, run_gangway

REALM = "Username-Password-Authentication"
UPSTREAM_SECRET = "upstream-secret-" + uuid.uuid4().hex
WRONG = {"error": "invalid_grant", "error_description": "Wrong email or password."}
ALL_SCOPES = "read:users create:users update:users delete:users read:connections update:connections read:logs"


@pytest.fixture(scope="module")
def fake():
    with FakeAuth0(client_secret=UPSTREAM_SECRET) as f:
        yield f


@pytest.fixture(scope="module")
def gw(start_gateway):
    return start_gateway("warm", workers=2)


def management_token(tenant) -> str:
    m2m = tenant.init["management"]["client_id"]
    claims = {"sub": f"{m2m}@clients", "aud": tenant.issuer + "api/v2/", "scope": ALL_SCOPES, "azp": m2m, "gty": "client-credentials"}
    return run_gangway(
        "jwt", "sign", "--store", tenant.store, "--tenant", tenant.issuer, "--type", "at+jwt", "--claims", json.dumps(claims)
    ).stdout.strip()


@pytest.fixture(scope="module")
def mgmt(gw) -> Auth0:
    return Auth0(base_url=f"http://127.0.0.1:{gw.port}/api/v2", token=management_token(gw.tenant), max_retries=0)


@pytest.fixture(scope="module")
def conn_id(gw) -> str:
    return gw.tenant.init["connection"]["id"]


def upstream_config(fake, **extra) -> dict:
    return {
        "token_endpoint": fake.base + "/oauth/token", "userinfo_endpoint": fake.base + "/userinfo",
        "client_id": "upstream-client", "client_secret": UPSTREAM_SECRET, **extra,
    }


@pytest.fixture(autouse=True)
def configured(mgmt, conn_id, fake):
    """Every test starts with import mode on, the right upstream credentials, and a quiet fake."""
    mgmt.connections.update(conn_id, options={"import_mode": True, "configuration": upstream_config(fake, timeout_ms=None, realm=None)})
    with fake.state.lock:
        fake.state.calls.clear()
    fake.set_mode(token="ok", userinfo="ok", delay_ms=0)
    yield


def upstream_user(fake, password="Upstream-Pa55!", **profile) -> dict:
    tag = uuid.uuid4().hex[:10]
    user = {
        "email": f"up-{tag}@example.com", "password": password, "sub": f"auth0|up{tag}", "name": f"Up {tag}",
        "nickname": f"up-{tag}", "given_name": "Up", "family_name": tag, "email_verified": True, **profile,
    }
    fake.add_user(**user)
    return user


def login(gw, username, password, realm=REALM, headers=None) -> requests.Response:
    app = gw.tenant.init["app"]
    return requests.post(gw.base + "oauth/token", timeout=30, headers=headers or {}, json={
        "grant_type": PASSWORD_REALM, "realm": realm, "username": username, "password": password,
        "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "openid profile email",
    })


def token_calls(fake) -> list[dict]:
    return fake.calls("/oauth/token")


def logs(mgmt, user_name=None) -> list[dict]:
    entries = [e.model_dump() if hasattr(e, "model_dump") else dict(e) for e in mgmt.logs.list(per_page=100)]
    return [e for e in entries if user_name is None or e.get("user_name") == user_name]


def raw_logs(gw, user_name: str) -> list[dict]:
    """Tenant log entries straight from the store (details included)."""
    out = run_gangway("store", "list", "--store", gw.store, "--prefix", "t/", "--limit", "100000").stdout
    found = []
    for line in out.splitlines():
        key, _, rest = line.partition("\t")
        if "/logs/" in key:
            entry = json.loads(rest.partition("\t")[2])
            if entry.get("user_name") == user_name:
                found.append(entry)
    return sorted(found, key=lambda e: e["log_id"])


def local_users_with_email(gw, email: str) -> list[dict]:
    out = run_gangway("store", "list", "--store", gw.store, "--prefix", "t/", "--limit", "100000").stdout
    users = []
    for line in out.splitlines():
        key, _, rest = line.partition("\t")
        if "/users/" in key:
            user = json.loads(rest.partition("\t")[2])
            if (user.get("email") or "").lower() == email.lower():
                users.append(user)
    return users


# --- The story through Auth0's SDK ------------------------------------------------------------------------------


def test_sdk_configures_the_connection_and_logs_in_an_upstream_only_user(gw, mgmt, conn_id, fake):
    updated = mgmt.connections.update(conn_id, options={"import_mode": True, "configuration": upstream_config(fake)})
    assert updated.options["import_mode"] is True
    assert updated.options["configuration"]["token_endpoint"] == fake.base + "/oauth/token"
    assert "client_secret" not in updated.options["configuration"]
    assert UPSTREAM_SECRET not in updated.model_dump_json() and UPSTREAM_SECRET not in mgmt.connections.get(conn_id).model_dump_json()

    user = upstream_user(fake)
    app = gw.tenant.init["app"]
    sdk = GetToken(f"127.0.0.1:{gw.port}", app["client_id"], client_secret=app["client_secret"], protocol="http")
    tokens = sdk.login(user["email"], user["password"], realm=REALM, scope="openid profile email", forwarded_for="203.0.113.9")
    claims = json.loads(_b64(tokens["id_token"].split(".")[1]))
    assert claims["sub"] == user["sub"], "an auth0| upstream sub is kept as the local user id"
    assert claims["email"] == user["email"] and claims["name"] == user["name"] and claims["email_verified"] is True

    [call] = token_calls(fake)
    body = call["body"]
    assert body["grant_type"] == PASSWORD_REALM and body["realm"] == REALM and body["scope"] == "openid profile email"
    assert body["username"] == user["email"] and body["client_id"] == "upstream-client"
    assert call["headers"]["auth0-forwarded-for"] == "203.0.113.9"
    assert len(fake.calls("/userinfo")) == 1

    # The local user: the upstream id and profile, a bcrypt hash, and the upstream sub recorded.
    [local] = local_users_with_email(gw, user["email"])
    assert local["userId"] == user["sub"] and local["upstreamSub"] == user["sub"]
    assert local["passwordHash"].startswith("$2b$") and user["password"] not in json.dumps(local)
    got = mgmt.users.get(user["sub"])
    assert got.email == user["email"] and got.family_name == user["family_name"]
    assert got.logins_count == 1 and got.last_login, "the migrating login counts as the user's first"

    # Second login: served locally, no upstream call.
    again = sdk.login(user["email"], user["password"], realm=REALM, scope="openid")
    assert json.loads(_b64(again["id_token"].split(".")[1]))["sub"] == user["sub"]
    assert mgmt.users.get(user["sub"]).logins_count == 2
    # A wrong password after migration never goes upstream.
    with pytest.raises(Auth0Error) as wrong:
        sdk.login(user["email"], "not-it", realm=REALM, scope="openid")
    assert (wrong.value.status_code, wrong.value.error_code, wrong.value.message) == (403, "invalid_grant", "Wrong email or password.")
    assert len(token_calls(fake)) == 1 and len(fake.calls("/userinfo")) == 1

    types = [e["type"] for e in raw_logs(gw, user["email"])]
    assert types == ["spm", "s", "s", "fp"], types
    spm = raw_logs(gw, user["email"])[0]
    assert spm["details"]["upstream_sub"] == user["sub"] and spm["details"]["created"] is True


def _b64(part: str) -> bytes:
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_the_realm_setting_and_the_plain_password_grant(gw, mgmt, conn_id, fake):
    mgmt.connections.update(conn_id, options={"configuration": {"realm": "Legacy-DB"}})
    user = upstream_user(fake, realm="Legacy-DB")
    app = gw.tenant.init["app"]
    r = requests.post(gw.base + "oauth/token", timeout=30, data={
        "grant_type": "password", "username": user["email"], "password": user["password"],
        "client_id": app["client_id"], "client_secret": app["client_secret"],
    })
    assert r.status_code == 200, r.text
    assert token_calls(fake)[0]["body"]["realm"] == "Legacy-DB"
    # Without an authenticated relay, the end user's IP is the caller's.
    assert token_calls(fake)[0]["headers"]["auth0-forwarded-for"] == "127.0.0.1"


def test_a_local_user_without_a_password_gets_the_upstream_hash(gw, fake):
    user = upstream_user(fake)
    created = json.loads(run_gangway(
        "users", "create", "--store", gw.store, "--tenant", gw.tenant.issuer, "--email", user["email"], "--password", "Temporary-Pa55!"
    ).stdout)
    # A local user without a password (as an import without hashes leaves them): drop the hash in the store.
    key = f"t/{gw.tenant.init['tenant']}/users/{created['user_id']}"
    record = json.loads(run_gangway("store", "get", "--store", gw.store, key).stdout)
    del record["passwordHash"]
    run_gangway("store", "put", "--store", gw.store, key, json.dumps(record))
    assert login(gw, user["email"], user["password"]).status_code == 200
    [local] = local_users_with_email(gw, user["email"])
    assert local["userId"] == created["user_id"], "attached to the existing user, not a twin"
    assert local["passwordHash"] and local["upstreamSub"] == user["sub"]
    assert login(gw, user["email"], user["password"]).status_code == 200
    assert len(token_calls(fake)) == 1


# --- Every upstream failure looks like a wrong password ---------------------------------------------------------

FAILURES = [
    ("token", "400", 1), ("token", "401", 1), ("token", "403", 1), ("token", "429", 1),
    ("token", "500", 2), ("token", "503", 2), ("token", "mfa_required", 1), ("token", "unauthorized_client", 1),
    ("token", "malformed", 1), ("token", "drop", 2), ("userinfo", "500", 2), ("userinfo", "malformed", 1),
    # /userinfo reuses the token call's keep-alive connection; when the server drops it without answering, libcurl
    # resends once on a fresh connection by itself (a dead reused connection): that resend is the one retry.
    ("userinfo", "drop", 2), ("token", "wrong-password", 1), ("token", "bad-client-secret", 1),
]


@pytest.fixture(scope="module")
def reference_wrong_password(gw):
    """A local user's wrong password: what every upstream failure must look like."""
    email = f"local-{uuid.uuid4().hex[:8]}@example.com"
    run_gangway("users", "create", "--store", gw.store, "--tenant", gw.tenant.issuer, "--email", email, "--password", "Local-Pa55!")
    r = login(gw, email, "nope")
    assert r.status_code == 403 and r.json() == WRONG
    return r


@pytest.mark.parametrize("which,mode,expected_calls", FAILURES, ids=[f"{w}-{m}" for w, m, _ in FAILURES])
def test_upstream_failures_answer_as_a_wrong_password(gw, mgmt, conn_id, fake, reference_wrong_password, which, mode, expected_calls):
    user = upstream_user(fake)
    password = user["password"]
    if mode == "wrong-password":
        password = "not-the-upstream-password"
    elif mode == "bad-client-secret":
        mgmt.connections.update(conn_id, options={"configuration": {"client_secret": "a-stale-secret"}})
    else:
        fake.set_mode(**{which: mode})
    r = login(gw, user["email"], password)
    assert r.status_code == 403 and r.json() == WRONG, (mode, r.text)
    ref = reference_wrong_password
    assert r.headers.get("content-type") == ref.headers.get("content-type")
    assert r.headers.get("cache-control") == ref.headers.get("cache-control")
    assert sorted(k.lower() for k in r.headers if k.lower() not in ("date", "content-length", "server-timing", "apigw-requestid")) == \
        sorted(k.lower() for k in ref.headers if k.lower() not in ("date", "content-length", "server-timing", "apigw-requestid"))

    stage = "/oauth/token" if which == "token" else "/userinfo"
    assert len(fake.calls(stage)) == expected_calls, (mode, fake.calls(stage))
    assert local_users_with_email(gw, user["email"]) == [], "nothing is created on a failure"
    [entry] = raw_logs(gw, user["email"])
    assert entry["type"] == "fu" and entry["description"] == "Wrong email or password."
    cause = entry["details"]["upstream"]
    assert cause.startswith("token_endpoint" if which == "token" else "userinfo"), cause
    assert password not in json.dumps(entry) and UPSTREAM_SECRET not in json.dumps(entry)


def test_a_slow_upstream_is_cut_at_the_time_budget(gw, fake):
    user = upstream_user(fake)
    fake.set_mode(token="slow")
    started = time.monotonic()
    r = login(gw, user["email"], user["password"])
    elapsed = time.monotonic() - started
    assert r.status_code == 403 and r.json() == WRONG
    assert 2.5 < elapsed < 4.0, f"default budget is 3 s, took {elapsed:.2f}s"
    assert "timeout" in raw_logs(gw, user["email"])[0]["details"]["upstream"]


def test_the_time_budget_is_configurable(gw, mgmt, conn_id, fake):
    mgmt.connections.update(conn_id, options={"configuration": {"timeout_ms": 800}})
    user = upstream_user(fake)
    fake.set_mode(userinfo="slow")
    started = time.monotonic()
    r = login(gw, user["email"], user["password"])
    elapsed = time.monotonic() - started
    assert r.status_code == 403 and r.json() == WRONG
    assert elapsed < 1.8, f"budget 800 ms across both calls, took {elapsed:.2f}s"


def test_retry_once_on_5xx_never_on_4xx(gw, fake):
    flaky = upstream_user(fake)
    fake.set_mode(token="flaky")
    assert login(gw, flaky["email"], flaky["password"]).status_code == 200
    assert len(token_calls(fake)) == 2, "one 500, one retry that succeeded"
    assert raw_logs(gw, flaky["email"])[0]["details"]["attempts"] == 3  # two token calls + userinfo

    fake.state.calls.clear()
    fake.set_mode(token="ok", userinfo="flaky")
    other = upstream_user(fake)
    assert login(gw, other["email"], other["password"]).status_code == 200
    assert len(fake.calls("/userinfo")) == 2 and len(token_calls(fake)) == 1


def test_lockout_counts_upstream_failures_for_users_not_local_yet(gw, fake):
    user = upstream_user(fake)
    for _ in range(3):
        r = login(gw, user["email"], "wrong-upstream-password")
        assert r.status_code == 403 and r.json() == WRONG
    blocked = login(gw, user["email"], user["password"])
    assert blocked.status_code == 429 and blocked.json()["error"] == "too_many_attempts"
    assert len(token_calls(fake)) == 3, "the blocked attempt never reaches the upstream"
    assert [e["type"] for e in raw_logs(gw, user["email"])] == ["fu", "fu", "fu", "limit_wc"]

    # Upstream outages count too.
    other = upstream_user(fake)
    fake.set_mode(token="503")
    for _ in range(3):
        assert login(gw, other["email"], other["password"]).status_code == 403
    fake.set_mode(token="ok")
    assert login(gw, other["email"], other["password"]).status_code == 429


def test_migrated_users_log_in_at_full_speed_while_the_upstream_is_down(gw, fake):
    user = upstream_user(fake)
    assert login(gw, user["email"], user["password"]).status_code == 200
    for mode in ("slow", "drop", "503"):
        fake.set_mode(token=mode, userinfo=mode)
        started = time.monotonic()
        r = login(gw, user["email"], user["password"])
        assert r.status_code == 200, r.text
        assert time.monotonic() - started < 1.0, mode
    assert len(token_calls(fake)) == 1


# --- Races ---------------------------------------------------------------------------------------------------------


def test_parallel_first_logins_through_the_gateway_create_one_user(gw, fake):
    user = upstream_user(fake)
    fake.set_mode(delay_ms=150)  # widen the window: every request is in flight before any finishes
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: login(gw, user["email"], user["password"]), range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    subs = {json.loads(_b64(a.json()["id_token"].split(".")[1]))["sub"] for a in answers}
    assert subs == {user["sub"]}
    assert len(local_users_with_email(gw, user["email"])) == 1
    assert len(token_calls(fake)) >= 2, "the race really happened (more than one login went upstream)"


def test_parallel_first_logins_in_separate_processes_create_one_user(gw, fake):
    user = upstream_user(fake)
    fake.set_mode(delay_ms=100)
    app = gw.tenant.init["app"]
    host = f"127.0.0.1:{gw.port}"
    body = json.dumps({
        "grant_type": PASSWORD_REALM, "realm": REALM, "username": user["email"], "password": user["password"],
        "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "openid",
    })
    event = json.dumps({
        "version": "2.0", "routeKey": "POST /oauth/token", "rawPath": "/oauth/token", "rawQueryString": "",
        "headers": {"host": host, "content-type": "application/json"},
        "requestContext": {"domainName": host, "requestId": "race", "timeEpoch": 0,
                           "http": {"method": "POST", "path": "/oauth/token", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.4", "userAgent": "t"}},
        "body": body, "isBase64Encoded": False,
    })
    procs = [
        subprocess.Popen([str(GANGWAY), "invoke", "token", "--store", gw.store], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=str(gw.workdir))
        for _ in range(6)
    ]
    outs = [p.communicate(event, timeout=60) for p in procs]
    responses = [json.loads(out) for out, _ in outs]
    assert [r["statusCode"] for r in responses] == [200] * 6, [r["body"] for r in responses]
    assert len(local_users_with_email(gw, user["email"])) == 1
    assert token_calls(fake)[0]["headers"]["auth0-forwarded-for"] == "198.51.100.4"
    for _, err in outs:
        assert user["password"] not in err and UPSTREAM_SECRET not in err


# --- The secret is write-only ------------------------------------------------------------------------------------


def test_client_secret_is_write_only_and_sealed_at_rest(gw, mgmt, conn_id, fake):
    def works() -> bool:
        u = upstream_user(fake)
        return login(gw, u["email"], u["password"]).status_code == 200

    # Omitted: kept. Echoed placeholder: kept.
    r = mgmt.connections.update(conn_id, options={"import_mode": True, "configuration": {"client_id": "upstream-client"}})
    assert "client_secret" not in r.options["configuration"] and works()
    mgmt.connections.update(conn_id, options={"configuration": {"client_secret": "***"}})
    assert works()
    # Echoing the whole GET back (as an admin UI would) keeps it too.
    current = mgmt.connections.get(conn_id)
    mgmt.connections.update(conn_id, options=current.options)
    assert works()
    # A new value replaces it.
    mgmt.connections.update(conn_id, options={"configuration": {"client_secret": "rotated-wrong-secret"}})
    assert not works()
    mgmt.connections.update(conn_id, options={"configuration": {"client_secret": UPSTREAM_SECRET}})
    assert works()

    # Never in the store, any response, the tenant logs or the gateway's stderr.
    dump = run_gangway("store", "list", "--store", gw.store, "--limit", "100000").stdout
    assert UPSTREAM_SECRET not in dump and "rotated-wrong-secret" not in dump
    stored = json.loads(run_gangway("store", "get", "--store", gw.store, f"t/{gw.tenant.init['tenant']}/connections/{conn_id}").stdout)
    assert stored["options"]["configuration"]["client_secret"].startswith("gw1.")
    assert UPSTREAM_SECRET not in requests.get(
        gw.base + f"api/v2/connections/{conn_id}", headers={"authorization": "Bearer " + management_token(gw.tenant)}, timeout=10
    ).text
    assert UPSTREAM_SECRET not in json.dumps([e for e in logs(mgmt)], default=str)
    assert UPSTREAM_SECRET not in gw.log()


@pytest.mark.parametrize("options,field", [
    ({"import_mode": "yes"}, "options.import_mode"),
    ({"configuration": {"token_endpoint": "ftp://example.com/oauth/token"}}, "options.configuration.token_endpoint"),
    ({"configuration": {"userinfo_endpoint": "not a url"}}, "options.configuration.userinfo_endpoint"),
    ({"configuration": {"client_id": ""}}, "options.configuration.client_id"),
    ({"configuration": {"client_secret": 42}}, "options.configuration.client_secret"),
    ({"configuration": {"timeout_ms": 0}}, "options.configuration.timeout_ms"),
    ({"configuration": "x"}, "options.configuration"),
    ({"configuration": {"token_endpoint": None}}, "options.configuration.token_endpoint"),  # import_mode is on
])
def test_invalid_configuration_is_400_naming_the_field(mgmt, conn_id, options, field):
    with pytest.raises(ApiError) as caught:
        mgmt.connections.update(conn_id, options=options)
    assert caught.value.status_code == 400
    assert caught.value.body["error"] == "Bad Request" or caught.value.body.get("errorCode") == "invalid_body"
    assert field in caught.value.body["message"], caught.value.body


def test_import_mode_off_never_calls_upstream(gw, mgmt, conn_id, fake):
    mgmt.connections.update(conn_id, options={"import_mode": False})
    user = upstream_user(fake)
    r = login(gw, user["email"], user["password"])
    assert r.status_code == 403 and r.json() == WRONG
    assert token_calls(fake) == []
