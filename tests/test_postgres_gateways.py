"""Two gateway processes sharing one PostgreSQL store behave as one service (issue 6).

Each test gets its own schema (`?schema=NAME`) in the database of GANGWAY_TEST_POSTGRES_URL (scripts/postgres.sh),
one tenant that answers on both gateways' addresses, and two `gangway serve --mode warm --workers 2` processes
(separate process trees, separate working directories). Nothing is mocked: the state they share is the database's.

The two gateways' store URLs differ only in libpq's `application_name` (`gangway_a` / `gangway_b`): the same database
and schema, but conftest's `Gateway.stop` finds a gateway's workers by their GANGWAY_STORE, so stopping one must not
touch the other's.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from fake_auth0 import PASSWORD_REALM, FakeAuth0

from conftest import Gateway, free_port, init_tenant, run_gangway

REALM = "Username-Password-Authentication"
PG_URL = os.environ.get("GANGWAY_TEST_POSTGRES_URL", "")
UPSTREAM_SECRET = "upstream-secret-" + uuid.uuid4().hex

if not PG_URL:
    if os.environ.get("GANGWAY_REQUIRE_POSTGRES") == "1":
        raise RuntimeError("GANGWAY_REQUIRE_POSTGRES=1 but GANGWAY_TEST_POSTGRES_URL is not set (source scripts/postgres.sh)")
    pytest.skip("GANGWAY_TEST_POSTGRES_URL not set (source scripts/postgres.sh)", allow_module_level=True)


def with_query(url: str, item: str) -> str:
    return url + ("&" if "?" in url else "?") + item


def claims(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Pair:
    """One tenant in one PostgreSQL schema, served by two gateway processes A and B."""

    def __init__(self, a: Gateway, b: Gateway, store: str):
        self.a, self.b, self.store = a, b, store
        self.tenant = a.tenant
        self.app = self.tenant.init["app"]

    def token(self, gw: Gateway, body: dict) -> requests.Response:
        body = {"client_id": self.app["client_id"], "client_secret": self.app["client_secret"], **body}
        return requests.post(gw.base + "oauth/token", json=body, timeout=60)

    def login(self, gw: Gateway, username: str, password: str, scope: str = "openid offline_access") -> requests.Response:
        return self.token(gw, {"grant_type": PASSWORD_REALM, "realm": REALM, "username": username, "password": password, "scope": scope})

    def refresh(self, gw: Gateway, refresh_token: str) -> requests.Response:
        return self.token(gw, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def entries(self, marker: str) -> list[tuple[str, dict]]:
        """Store entries of this tenant whose key contains `marker`, as (key, value)."""
        out = run_gangway("store", "list", "--store", self.store, "--prefix", "t/", "--limit", "100000").stdout
        found = []
        for line in out.splitlines():
            key, _, rest = line.partition("\t")
            if marker in key:
                found.append((key, json.loads(rest.partition("\t")[2])))
        return found

    def logs(self, type_: str) -> list[dict]:
        return [v for _, v in self.entries("/logs/") if v.get("type") == type_]


@pytest.fixture
def schema_url():
    """A fresh schema in the test database; dropped afterwards when psql is at hand (the server is a throwaway)."""
    schema = "gw2_" + uuid.uuid4().hex[:16]
    yield with_query(PG_URL, f"schema={schema}")
    if shutil.which("psql"):
        subprocess.run(["psql", "-X", "-q", PG_URL, "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                       capture_output=True, timeout=30)


@pytest.fixture
def make_pair(gangway_bin, schema_url, tmp_path, monkeypatch):
    """Factory: tenant settings (`gangway tenant set` flags) -> a running Pair. Both gateways stop at teardown."""
    # The functions seal and open upstream secrets with GANGWAY_SECRET_KEY; both gateways (and so every worker)
    # must hold the same one, as every instance of a deployment does. Without it each would make its own key file.
    monkeypatch.setenv("GANGWAY_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())
    started: list[Gateway] = []

    def make(**settings) -> Pair:
        port_a, port_b = free_port(), free_port()
        store_a = with_query(schema_url, "application_name=gangway_a")
        store_b = with_query(schema_url, "application_name=gangway_b")
        tenant = init_tenant(store_a, f"http://127.0.0.1:{port_a}/", [f"127.0.0.1:{port_b}", f"localhost:{port_a}", f"localhost:{port_b}"])
        if settings:
            flags = [x for k, v in settings.items() for x in ("--" + k.replace("_", "-"), str(v))]
            run_gangway("tenant", "set", "--store", schema_url, "--tenant", tenant.issuer, *flags)
        gws = []
        for name, port, store in (("a", port_a, store_a), ("b", port_b, store_b)):
            workdir = tmp_path / f"gw-{name}"
            workdir.mkdir()
            t = type(tenant)(store=store, issuer=tenant.issuer, init=tenant.init)
            gw = Gateway(mode="warm", port=port, tenant=t, workdir=workdir, workers=2)
            started.append(gw)
            gw.start()
            gws.append(gw)
        return Pair(gws[0], gws[1], schema_url)

    yield make
    for gw in started:
        gw.stop()
    for gw in started:
        assert gw.stopped_cleanly, gw.log()
        assert not gw.leftover_workers, gw.leftover_workers


def test_a_refresh_token_rotated_through_one_gateway_is_rejected_on_reuse_through_the_other(make_pair):
    leeway = 2
    pair = make_pair(refresh_reuse_leeway=leeway)
    email, password = "rotate@example.com", "Rotate-Pa55!"
    run_gangway("users", "create", "--store", pair.store, "--email", email, "--password", password)

    first = pair.login(pair.a, email, password)
    assert first.status_code == 200, first.text
    rt0 = first.json()["refresh_token"]

    # Rotate through A; B sees the rotation at once: within the leeway it forgives the old token (two tabs)...
    rotated = pair.refresh(pair.a, rt0)
    assert rotated.status_code == 200, rotated.text
    rt1 = rotated.json()["refresh_token"]
    rotated_at = time.time()
    assert rt1 != rt0
    tab = pair.refresh(pair.b, rt0)
    assert tab.status_code == 200, tab.text
    rt_tab = tab.json()["refresh_token"]
    assert claims(tab.json()["id_token"])["sub"] == claims(first.json()["id_token"])["sub"]

    # ...after the leeway, reuse through B revokes the whole family, for both gateways.
    time.sleep(max(0.0, rotated_at + leeway + 1.1 - time.time()))
    reused = pair.refresh(pair.b, rt0)
    assert reused.status_code == 403, reused.text
    assert reused.json()["error"] == "invalid_grant"
    for gw in (pair.a, pair.b):
        for token in (rt1, rt_tab):
            r = pair.refresh(gw, token)
            assert (r.status_code, r.json()["error"]) == (403, "invalid_grant"), (gw.port, r.text)
    assert len(pair.entries("/refresh-token-families/")) == 1
    assert len(pair.logs("ferrt")) == 1, "one reuse, logged once"


def test_the_login_lockout_counts_failures_across_both_gateways(make_pair):
    pair = make_pair(brute_force_limit=3, brute_force_window=300, brute_force_block=300)
    locked, control = ("locked@example.com", "Locked-Pa55!"), ("control@example.com", "Control-Pa55!")
    for email, password in (locked, control):
        run_gangway("users", "create", "--store", pair.store, "--email", email, "--password", password)

    # Three wrong passwords, split A, B, A: each gateway alone saw fewer than the limit.
    for i, gw in enumerate((pair.a, pair.b, pair.a)):
        r = pair.login(gw, locked[0], "wrong-password")
        expected = {(403, "invalid_grant")} if i < 2 else {(403, "invalid_grant"), (429, "too_many_attempts")}
        assert (r.status_code, r.json()["error"]) in expected, (i, r.text)
    # The fourth attempt, with the right password, is blocked on either.
    for gw in (pair.b, pair.a):
        r = pair.login(gw, *locked)
        assert (r.status_code, r.json()["error"]) == (429, "too_many_attempts"), (gw.port, r.text)

    # Control: two failures (one per gateway) stay under the limit, and the right password still works.
    for gw in (pair.a, pair.b):
        assert pair.login(gw, control[0], "wrong-password").status_code == 403
    r = pair.login(pair.b, *control)
    assert r.status_code == 200, r.text


def test_simultaneous_first_logins_of_one_upstream_user_through_both_gateways_create_one_user(make_pair):
    pair = make_pair()
    with FakeAuth0(client_secret=UPSTREAM_SECRET) as fake:
        # Import mode on the database connection, configured through A's Management API.
        m2m = pair.tenant.init["management"]["client_id"]
        token = run_gangway(
            "jwt", "sign", "--store", pair.store, "--tenant", pair.tenant.issuer, "--type", "at+jwt", "--claims",
            json.dumps({"sub": f"{m2m}@clients", "aud": pair.tenant.issuer + "api/v2/", "scope": "read:connections update:connections",
                        "azp": m2m, "gty": "client-credentials"}),
        ).stdout.strip()
        conn_id = pair.tenant.init["connection"]["id"]
        r = pair.a.request("PATCH", f"/api/v2/connections/{conn_id}", headers={"Authorization": f"Bearer {token}"}, json={
            "options": {"import_mode": True, "configuration": {
                "token_endpoint": fake.base + "/oauth/token", "userinfo_endpoint": fake.base + "/userinfo",
                "client_id": "upstream-client", "client_secret": UPSTREAM_SECRET,
            }},
        })
        assert r.status_code == 200, r.text

        tag = uuid.uuid4().hex[:10]
        user = {"email": f"up-{tag}@example.com", "password": "Upstream-Pa55!", "sub": f"auth0|up{tag}", "name": f"Up {tag}",
                "email_verified": True}
        fake.add_user(**user)
        fake.set_mode(delay_ms=200)  # every login is in flight upstream before any returns

        gws = [pair.a, pair.b] * 4
        with ThreadPoolExecutor(len(gws)) as pool:
            answers = list(pool.map(lambda gw: pair.login(gw, user["email"], user["password"], scope="openid"), gws))
        assert [a.status_code for a in answers] == [200] * len(gws), [a.text for a in answers]
        assert {claims(a.json()["id_token"])["sub"] for a in answers} == {user["sub"]}
        assert len(fake.calls("/oauth/token")) >= 2, "the race really happened (more than one login went upstream)"

    users = [v for _, v in pair.entries("/users/") if (v.get("email") or "").lower() == user["email"]]
    assert len(users) == 1, users
    assert users[0]["userId"] == user["sub"]
    created = [e for e in pair.logs("spm") if e.get("user_name") == user["email"] and e["details"].get("created")]
    assert len(created) == 1, created
    # Afterwards both gateways log the user in locally.
    for gw in (pair.a, pair.b):
        r = pair.login(gw, user["email"], user["password"], scope="openid")
        assert r.status_code == 200 and claims(r.json()["id_token"])["sub"] == user["sub"], r.text
