"""`gangway migrate from-auth0` (issue 15) against a fake Auth0 tenant's Management API on loopback: one command copies
applications (keeping client_id and client_secret), APIs, client grants, database connections' settings and the
signing keys; with --fallback-client it turns on the password fallback and makes a migration source. A second run
changes nothing; a run interrupted by upstream faults resumes; --plan writes nothing. The copies are then used the
way applications use them: auth0-python's GetToken with the old client_id/secret, a lazy-migration login, and the
old tenant's tokens at /userinfo.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
import requests
from auth0.authentication import GetToken

from browser import chromium  # noqa: F401
from conftest import run_gangway
from fake_auth0 import FakeAuth0
from hosted_login import mgmt_request

MGMT_SCOPES = "read:clients read:client_keys read:resource_servers read:client_grants read:connections read:users"


def migrate(gw, fake: FakeAuth0, *extra: str, secret: str = "m2m-secret-0123456789abcdef") -> tuple[int, dict | None, str]:
    out = run_gangway(
        "migrate", "from-auth0", "--store", gw.store, "--tenant", gw.tenant.issuer, "--domain", fake.base,
        "--client-id", "migrator", "--client-secret", secret, *extra, check=False, timeout=120)
    try:
        summary = json.loads(out.stdout) if out.stdout.strip() else None
    except json.JSONDecodeError:
        summary = None
    return out.returncode, summary, out.stderr


def steps(summary: dict) -> dict[str, dict]:
    return {s["name"]: s for s in summary["steps"]}


def seed(fake: FakeAuth0) -> dict:
    """An Auth0 tenant as a migration meets it: a web app with the password-realm grant, an SPA, an M2M app, an API."""
    fake.add_management_client("migrator", "m2m-secret-0123456789abcdef", MGMT_SCOPES.split())
    web = fake.add_application(
        name="Storefront", app_type="regular_web", client_id="storefrontAuth0Id123",
        client_secret="storefront-secret-from-auth0-0123456789",
        callbacks=["https://shop.example/callback"], allowed_logout_urls=["https://shop.example/"],
        grant_types=["authorization_code", "refresh_token", "password", "http://auth0.com/oauth/grant-type/password-realm"],
        token_endpoint_auth_method="client_secret_post")
    spa = fake.add_application(
        name="Shop SPA", app_type="spa", client_id="shopSpaAuth0Id456", token_endpoint_auth_method="none",
        callbacks=["https://spa.example/cb"], web_origins=["https://spa.example"], grant_types=["authorization_code", "refresh_token"])
    m2m = fake.add_application(
        name="Orders worker", app_type="non_interactive", client_id="ordersWorkerAuth0Id789",
        client_secret="orders-worker-secret-0123456789abcdef", grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post")
    api = fake.add_api(
        name="Orders", identifier="https://orders.example/", token_lifetime=7200, allow_offline_access=True,
        scopes=[{"value": "read:orders", "description": "Read orders"}, {"value": "write:orders", "description": "Write"}])
    fake.add_client_grant(m2m["client_id"], "https://orders.example/", ["read:orders"])
    fake.add_client_grant("migrator", fake.base + "/api/v2/", MGMT_SCOPES.split())
    return {"web": web, "spa": spa, "m2m": m2m, "api": api}


@pytest.fixture
def tenant_pair(start_gateway):
    gw = start_gateway("cgi")
    with FakeAuth0(client_id="storefrontAuth0Id123", client_secret="storefront-secret-from-auth0-0123456789") as fake:
        yield gw, fake, seed(fake)


def test_one_command_copies_the_tenant_and_a_second_run_changes_nothing(tenant_pair):
    gw, fake, seeded = tenant_pair
    code, summary, err = migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])
    assert code == 0, (summary, err)
    s = steps(summary)
    assert s["applications"]["created"] == 3 and s["applications"]["skipped"] == 1, s  # the global client is skipped
    assert s["apis"]["created"] == 1 and s["apis"]["skipped"] == 1, s  # Auth0's own Management API is not copied
    assert s["client grants"]["created"] == 1 and s["client grants"]["skipped"] == 1, s
    assert s["connections"]["updated"] + s["connections"]["created"] == 1, s
    assert s["signing keys"]["created"] == 1, s
    assert s["password fallback and re-mint"]["created"] == 2, s
    assert "storefront-secret-from-auth0" not in json.dumps(summary) + err

    # The applications kept their keys: the old M2M app gets a token for the copied API with its copied grant.
    token = GetToken(gw.base.split("//")[1].rstrip("/"), seeded["m2m"]["client_id"], client_secret=seeded["m2m"]["client_secret"],
                     protocol="http").client_credentials("https://orders.example/")
    assert token["scope"] == "read:orders" and token["expires_in"] == 7200, token
    spa = mgmt_request(gw, "GET", "clients/" + seeded["spa"]["client_id"]).json()
    assert spa["app_type"] == "spa" and spa["web_origins"] == ["https://spa.example"] and spa["token_endpoint_auth_method"] == "none"

    # Idempotent: nothing created or updated the second time.
    code, again, err = migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])
    assert code == 0, (again, err)
    for step in again["steps"]:
        assert step["created"] == 0 and step["updated"] == 0 and step["failed"] == 0, step

    # What changed upstream is synced; nothing else is touched.
    fake.state.applications[seeded["spa"]["client_id"]]["callbacks"] = ["https://spa.example/cb", "https://spa.example/cb2"]
    code, synced, _ = migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])
    assert code == 0 and steps(synced)["applications"]["updated"] == 1 and steps(synced)["applications"]["unchanged"] == 2, synced
    assert mgmt_request(gw, "GET", "clients/" + seeded["spa"]["client_id"]).json()["callbacks"][-1] == "https://spa.example/cb2"


def test_the_fallback_migrates_a_user_of_the_old_tenant_at_the_first_login(tenant_pair):
    gw, fake, seeded = tenant_pair
    assert migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])[0] == 0
    email = f"old-{uuid.uuid4().hex[:8]}@example.com"
    fake.add_user(email=email, password="Old-tenant-Pa55!", sub="auth0|" + uuid.uuid4().hex[:24], realm="Username-Password-Authentication")
    # The first-party web app, with the client_id and secret it had on Auth0, logs the user in by password.
    r = requests.post(gw.base + "oauth/token", data={
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "Username-Password-Authentication",
        "username": email, "password": "Old-tenant-Pa55!", "client_id": seeded["web"]["client_id"],
        "client_secret": seeded["web"]["client_secret"], "scope": "openid"}, timeout=30)
    assert r.status_code == 200, r.text
    sources = mgmt_request(gw, "GET", "migration-sources", scope="read:migration_sources").json()
    assert any(src["credentials"]["client_id"] == seeded["web"]["client_id"] for src in sources), sources


def test_plan_writes_nothing(tenant_pair):
    gw, fake, seeded = tenant_pair
    code, summary, err = migrate(gw, fake, "--plan", "--fallback-client", seeded["web"]["client_id"])
    assert code == 0 and summary["plan"] is True, (summary, err)
    assert steps(summary)["applications"]["created"] == 3
    assert mgmt_request(gw, "GET", "clients/" + seeded["spa"]["client_id"]).status_code == 404
    assert len(gw.jwks()["keys"]) == 1


def test_without_a_fallback_client_nothing_unverifiable_is_made(tenant_pair):
    gw, fake, seeded = tenant_pair
    code, summary, _ = migrate(gw, fake)
    assert code == 0
    fallback = steps(summary)["password fallback and re-mint"]
    assert fallback["created"] == 0 and "no --fallback-client" in fallback["notes"][0], fallback
    # An SPA cannot be the fallback: it has no secret and no password-realm grant.
    code, summary, _ = migrate(gw, fake, "--fallback-client", seeded["spa"]["client_id"])
    assert code == 1 and "password-realm" in steps(summary)["password fallback and re-mint"]["notes"][0], summary


def test_upstream_faults_are_retried_and_an_interrupted_run_resumes(tenant_pair):
    gw, fake, seeded = tenant_pair
    fake.fail_next("/api/v2/clients", times=2, status=503)
    fake.fail_next("/api/v2/resource-servers", times=1, status=429)
    code, summary, err = migrate(gw, fake)
    assert code == 0, (summary, err)
    assert steps(summary)["applications"]["created"] == 3 and summary["upstream_requests"] > 6
    # A run that dies (the client grants keep failing) leaves what it did; the next run finishes the rest.
    fake.add_api(name="Billing", identifier="https://billing.example/", scopes=[{"value": "pay", "description": "Pay"}])
    fake.add_client_grant(seeded["m2m"]["client_id"], "https://billing.example/", ["pay"])
    fake.fail_next("/api/v2/client-grants", times=4, status=500)  # every attempt of one run
    code, summary, err = migrate(gw, fake)
    assert code != 0 and "client-grants" in err, (summary, err)
    code, summary, err = migrate(gw, fake)
    assert code == 0, (summary, err)
    s = steps(summary)
    assert s["apis"]["unchanged"] == 2 and s["client grants"]["created"] == 1 and s["client grants"]["unchanged"] == 1, s


def test_bad_credentials_or_domain_fail_clearly_without_echoing_the_secret(tenant_pair):
    gw, fake, _ = tenant_pair
    code, summary, err = migrate(gw, fake, secret="wrong-secret-value-123")
    assert code != 0 and "refused a Management API token" in err and "wrong-secret-value-123" not in err, err
    out = run_gangway("migrate", "from-auth0", "--store", gw.store, "--domain", "ftp://x", "--client-id", "a",
                      "--client-secret", "b", check=False)
    assert out.returncode != 0 and "--domain" in out.stderr, out


def test_users_arrive_pending_through_the_export_job_and_the_fallback_completes_them(tenant_pair):
    gw, fake, seeded = tenant_pair
    fake.set_export_pending_polls(2)
    alice = fake.add_export_user(
        "Username-Password-Authentication", email=f"alice-{uuid.uuid4().hex[:6]}@example.com", email_verified=True,
        name="Alice Old", created_at="2021-03-04T05:06:07.890Z", logins_count=41, user_metadata={"theme": "dark"},
        app_metadata={"plan": "gold"}, password="Alice-Pa55word!")
    bob = fake.add_export_user("Username-Password-Authentication", email=f"bob-{uuid.uuid4().hex[:6]}@example.com", blocked=True)
    code, summary, err = migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])
    assert code == 0, (summary, err)
    assert steps(summary)["users"]["created"] == 2, summary

    users = {u["user_id"]: u for u in mgmt_request(gw, "GET", "users").json()}
    a = users[alice["user_id"]]
    assert a["email"] == alice["email"] and a["email_verified"] is True and a["name"] == "Alice Old"
    assert a["created_at"].startswith("2021-03-04T05:06:07") and a["logins_count"] == 41
    assert a["user_metadata"] == {"theme": "dark"} and a["app_metadata"] == {"plan": "gold"}
    assert users[bob["user_id"]]["blocked"] is True

    # A pending user logs in once with the old tenant's password: the same user (same id) gets its hash.
    r = requests.post(gw.base + "oauth/token", data={
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "Username-Password-Authentication",
        "username": alice["email"], "password": "Alice-Pa55word!", "client_id": seeded["web"]["client_id"],
        "client_secret": seeded["web"]["client_secret"], "scope": "openid"}, timeout=30)
    assert r.status_code == 200, r.text
    ids = [u["user_id"] for u in mgmt_request(gw, "GET", "users").json() if u.get("email") == alice["email"]]
    assert ids == [alice["user_id"]], ids

    # A second run adds only the user who signed up upstream since; nobody is duplicated.
    carol = fake.add_export_user("Username-Password-Authentication", email=f"carol-{uuid.uuid4().hex[:6]}@example.com")
    code, again, err = migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])
    assert code == 0 and steps(again)["users"]["created"] == 1 and steps(again)["users"]["unchanged"] == 2, (again, err)
    emails = [u["email"] for u in mgmt_request(gw, "GET", "users").json()]
    assert sorted(emails) == sorted({alice["email"], bob["email"], carol["email"]}), emails


# --- the migration report --------------------------------------------------------------------------------------


def report(gw, days: int = 30) -> dict:
    r = mgmt_request(gw, "GET", f"migration/report?days={days}", scope="read:migration_report")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_report_counts_what_happened_as_it_happened(tenant_pair):
    gw, fake, seeded = tenant_pair
    web = seeded["web"]
    passwords = {}
    for name in ("ann", "ben", "cy"):
        email = f"{name}-{uuid.uuid4().hex[:6]}@example.com"
        passwords[email] = f"{name.title()}-Pa55word!"
        fake.add_export_user("Username-Password-Authentication", email=email, password=passwords[email])
    code, summary, err = migrate(gw, fake, "--fallback-client", web["client_id"])
    assert code == 0, (summary, err)
    empty = report(gw)
    assert empty["users"] == {"imported_pending": 3, "completed": 0, "pending": 3, "migrated_at_first_login": 0}, empty["users"]
    assert empty["forecast"]["p95"] == {"reached": False, "date": None, "why": "no imported user completed in the last 7 days"}

    def login(email: str, password: str) -> requests.Response:
        return requests.post(gw.base + "oauth/token", data={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "Username-Password-Authentication",
            "username": email, "password": password, "client_id": web["client_id"], "client_secret": web["client_secret"],
            "scope": "openid"}, timeout=30)

    first, second, third = list(passwords.items())
    assert login(*first).status_code == 200  # a pending user completes: one upstream call
    fake.set_mode(token="503")
    assert login(*second).status_code == 403  # the upstream is down: "wrong password", counted as a 5xx failure
    fake.set_mode(token="ok")
    # An application still holding an Auth0 refresh token gets it re-minted once.
    upstream_token = "up_rt_" + uuid.uuid4().hex
    fake.add_refresh_token(upstream_token, "auth0|" + uuid.uuid4().hex[:24], client_id=web["client_id"])
    fake.add_user(sub=fake.state.refresh_tokens[upstream_token]["sub"], email=f"rt-{uuid.uuid4().hex[:6]}@example.com", password="x")
    r = gw.request("POST", "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": upstream_token,
                                                 "client_id": web["client_id"], "client_secret": web["client_secret"]})
    assert r.status_code == 200, r.text
    # And one still calls a legacy endpoint.
    assert requests.post(gw.base + "oauth/ro", json={"client_id": "old-widget", "username": "u", "password": "p"}, timeout=10).status_code == 403

    now = report(gw, days=3)
    today = now["days"][-1]
    assert len(now["days"]) == 3 and today["date"] == time.strftime("%Y-%m-%d", time.gmtime())
    assert today["password_migrations"] == 1 and today["pending_completed"] == 1 and today["refresh_remints"] == 1, today
    assert today["upstream_failures"] == {"server_error": 1}, today
    assert today["legacy_calls"] == {"old-widget": 1} and today["upstream_tokens"] == {web["client_id"]: 1}, today
    assert today["upstream_calls"] >= 3, today
    assert now["users"] == {"imported_pending": 3, "completed": 1, "pending": 2, "migrated_at_first_login": 0}, now["users"]
    p95 = now["forecast"]["p95"]
    assert p95["reached"] is False and p95["date"] > today["date"] and p95["earliest"] <= p95["date"], now["forecast"]
    assert "Poisson" in now["forecast"]["model"]
    check = now["decommission"]
    assert check["ready"] is False and check["pending_users"] == 2 and check["transition_keys_open"] is True, check
    assert check["applications_presenting_upstream_tokens_last_7_days"] == [web["client_id"]], check
    assert check["legacy_calls_last_7_days"] == 1, check

    # The counts agree with the tenant log (the events they were counted from).
    logs = mgmt_request(gw, "GET", "logs?per_page=100", scope="read:logs").json()
    assert sum(1 for e in logs if e["type"] == "spm") == today["password_migrations"]
    assert sum(1 for e in logs if e["type"] == "depnote") == sum(today["legacy_calls"].values())

    # The terminal view says the same; the scope and the window are enforced.
    status = run_gangway("migrate", "status", "--store", gw.store, "--tenant", gw.tenant.issuer, "--days", "2").stdout
    assert "3 imported pending, 1 completed, 2 still pending" in status and "not yet" in status, status
    assert mgmt_request(gw, "GET", "migration/report", scope="read:logs").status_code == 403
    bad = mgmt_request(gw, "GET", "migration/report?days=0", scope="read:migration_report")
    assert bad.status_code == 400 and bad.json()["errorCode"] == "invalid_query_string", bad.text


# The README's screenshot of the HTML report: written only when asked (GANGWAY_SCREENSHOT_REPORT=docs/migration-report.png).
REPORT_SCREENSHOT = os.environ.get("GANGWAY_SCREENSHOT_REPORT")


def test_the_html_report_is_one_self_contained_page_a_browser_shows(tenant_pair, chromium, tmp_path):
    gw, fake, seeded = tenant_pair
    for i in range(4):
        fake.add_export_user("Username-Password-Authentication", email=f"h{i}-{uuid.uuid4().hex[:6]}@example.com", password=f"Html-{i}-Pa55!")
    assert migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])[0] == 0
    user = next(u for _, u in fake.state.export_users if u["email"].startswith("h0-"))
    r = requests.post(gw.base + "oauth/token", data={
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "Username-Password-Authentication",
        "username": user["email"], "password": "Html-0-Pa55!", "client_id": seeded["web"]["client_id"],
        "client_secret": seeded["web"]["client_secret"]}, timeout=30)
    assert r.status_code == 200, r.text
    page = tmp_path / "report.html"
    out = run_gangway("migrate", "report", "--html", str(page), "--days", "14", "--store", gw.store, "--tenant", gw.tenant.issuer)
    html = page.read_text()
    # Self-contained: no script, and nothing the page would fetch (no src/href/url() anywhere).
    assert "wrote" in out.stdout and "<script" not in html and "src=" not in html and "href=" not in html and "url(" not in html
    assert "default-src 'none'" in html

    chromium.get(page.as_uri())
    text = {i: chromium.find_element("id", i).text for i in ("imported", "completed", "pending", "verdict")}
    assert text["imported"].startswith("4") and text["completed"].startswith("1") and text["pending"].startswith("3"), text
    assert "Not yet" in text["verdict"], text
    assert len(chromium.find_elements("css selector", "#chart rect")) == 28  # 14 days, two series
    rows = chromium.find_elements("css selector", "#days tr")
    assert len(rows) == 15 and rows[1].find_elements("tag name", "td")[1].text == "1", [r.text for r in rows[:2]]
    if REPORT_SCREENSHOT:
        chromium.save_screenshot(REPORT_SCREENSHOT)


def test_pending_users_export_for_a_final_reset_campaign(tenant_pair):
    gw, fake, seeded = tenant_pair
    done = fake.add_export_user("Username-Password-Authentication", email=f"done-{uuid.uuid4().hex[:6]}@example.com", password="Done-Pa55word!")
    left = fake.add_export_user("Username-Password-Authentication", email=f"left-{uuid.uuid4().hex[:6]}@example.com")
    assert migrate(gw, fake, "--fallback-client", seeded["web"]["client_id"])[0] == 0
    r = requests.post(gw.base + "oauth/token", data={
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "Username-Password-Authentication",
        "username": done["email"], "password": "Done-Pa55word!", "client_id": seeded["web"]["client_id"],
        "client_secret": seeded["web"]["client_secret"]}, timeout=30)
    assert r.status_code == 200, r.text
    out = run_gangway("users", "export", "--pending", "--fields", "user_id,email", "--store", gw.store, "--tenant", gw.tenant.issuer)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert {u["email"] for u in lines} == {left["email"]}, lines  # the migrated user is not in it; the pending one is
