"""infra/openapi.yaml against the real gateway (issue "Hold under abuse and faults"): schemathesis, every check,
every operation, zero failures.

Its CLI runs against a gateway of its own (warm mode, a fresh SQLite store) with real credentials: a Management
API token from a client-credentials grant (every Management API scope), a user's access token from a password
grant for /userinfo, and the default app's id and secret for client_secret_basic on /oauth/token. Generation is
bounded and reproducible: fixed seed, derandomized, no example database, one worker, no response-time limit.

Fuzzed PATCHes may point a connection's password fallback at any URL, so the gateway's upstream calls go through a
proxy that refuses every connection (loopback excepted): the run sends nothing off this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from conftest import REPO

OPENAPI = REPO / "infra" / "openapi.yaml"
SEED = 20260101
MAX_EXAMPLES = int(os.environ.get("GANGWAY_SCHEMATHESIS_MAX_EXAMPLES", "8"))
# Whatever libcurl would fetch is sent to a port nobody listens on (discard, 9), loopback upstreams excepted.
NO_EGRESS = {
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "all_proxy": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
    "no_proxy": "127.0.0.1,localhost,::1", "NO_PROXY": "127.0.0.1,localhost,::1",
}


def token(gw, **body) -> dict:
    r = requests.post(gw.base + "oauth/token", json=body, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def conformance_gateway(start_gateway):
    return start_gateway("warm", env=NO_EGRESS)


def management(gw) -> dict:
    m2m = gw.tenant.init["management"]
    access = token(
        gw, grant_type="client_credentials", client_id=m2m["client_id"], client_secret=m2m["client_secret"],
        audience=gw.tenant.issuer + "api/v2/",
    )["access_token"]
    return {"Authorization": "Bearer " + access}


# --- what the schemathesis run found, one behaviour at a time ---------------------------------------------------


def test_a_management_write_without_a_body_is_400_invalid_body_and_changes_nothing(conformance_gateway):
    """PATCH (or POST) with no body at all was taken for an empty change and answered 200."""
    gw = conformance_gateway
    headers = management(gw)
    user = requests.post(gw.base + "api/v2/users", headers=headers, timeout=15, json={
        "connection": "Username-Password-Authentication", "email": f"nb-{uuid.uuid4().hex[:8]}@example.com",
        "password": "No-Body-Pa55word!",
    }).json()
    connection = requests.get(gw.base + "api/v2/connections", headers=headers, timeout=15).json()[0]
    source = requests.post(gw.base + "api/v2/migration-sources", headers=headers, timeout=15, json={
        "name": "no-body", "credentials": {"domain": "upstream.example.com", "client_id": "c", "client_secret": "s" * 20},
    }).json()
    for method, path in [
        ("PATCH", f"api/v2/users/{requests.utils.quote(user['user_id'], safe='')}"),
        ("PATCH", f"api/v2/connections/{connection['id']}"),
        ("PATCH", f"api/v2/migration-sources/{source['id']}"),
        ("POST", "api/v2/users"),
        ("POST", "api/v2/migration-sources"),
        ("POST", f"api/v2/users/{requests.utils.quote(user['user_id'], safe='')}/identities"),
    ]:
        r = requests.request(method, gw.base + path, headers=headers, timeout=15)
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert r.json() == {
            "statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body",
            "message": "Payload validation error: 'Expected type object but found type null'.",
        }, (method, path, r.text)
    again = requests.get(gw.base + f"api/v2/users/{requests.utils.quote(user['user_id'], safe='')}", headers=headers,
                         timeout=15).json()
    assert again["updated_at"] == user["updated_at"], again
    # An empty JSON object is still a (no-op) change, as in Auth0.
    r = requests.patch(gw.base + f"api/v2/connections/{connection['id']}", headers=headers, json={}, timeout=15)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("url", [
    "https://upstream.example.com/oauth/token\x12", "https://\u0101.example.com/", "https://a.example.com/%zz",
    "https://a.example.com/#one#two", "https://a.example.com:port/", "http://[::1]:9/", "https://a.example.com/a b",
    "https://:443/", "ftp://a.example.com/",
])
def test_a_connection_upstream_endpoint_must_be_an_rfc3986_http_url(conformance_gateway, url):
    """Control characters, non-ASCII, a stray `%`, a second `#` or a bad port were stored and echoed back."""
    gw = conformance_gateway
    headers = management(gw)
    connection = requests.get(gw.base + "api/v2/connections", headers=headers, timeout=15).json()[0]
    r = requests.patch(gw.base + f"api/v2/connections/{connection['id']}", headers=headers, timeout=15,
                       json={"options": {"configuration": {"token_endpoint": url}}})
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "invalid_body"
    assert "options.configuration.token_endpoint" in r.json()["message"], r.text


def test_a_connection_upstream_endpoint_may_use_every_part_of_an_http_url(conformance_gateway):
    gw = conformance_gateway
    headers = management(gw)
    connection = requests.get(gw.base + "api/v2/connections", headers=headers, timeout=15).json()[0]
    url = "https://user:p%40ss@upstream.example.com:8443/oauth/token;v=1?a=b&c=%2F:@/?#frag/?:@"
    r = requests.patch(gw.base + f"api/v2/connections/{connection['id']}", headers=headers, timeout=15,
                       json={"options": {"configuration": {"token_endpoint": url, "userinfo_endpoint": None}}})
    assert r.status_code == 200, r.text
    assert r.json()["options"]["configuration"]["token_endpoint"] == url
    r = requests.patch(gw.base + f"api/v2/connections/{connection['id']}", headers=headers, timeout=15,
                       json={"options": {"configuration": None}})
    assert r.status_code == 200, r.text


# Operations whose schema-valid requests Auth0 (and so Gangway) still refuses with 400 for reasons a JSON Schema
# cannot state: a name that must exist in the tenant's data, a rule across two fields or parameters, a token that
# must verify. For these, `positive_data_acceptance` also accepts 400; every other check stays as it is, and every
# other operation must accept all that its schema allows.
SEMANTIC_400 = {
    "token": "an unknown realm or audience is 400 invalid_request; credentials in both the body and Basic is 400",
    "revoke": "as token: parameter limits count bytes (a JSON Schema maxLength counts characters); client_id is required",
    "createUser": "an unknown connection is 400 inexistent_connection",
    "updateUser": "a connection the user has no identity on is 400 invalid_body",
    "createUsersImportJob": "the connection must exist; the users file must be multipart (a generated part may be empty)",
    "createUsersExportJob": "the connection must exist",
    "linkUserIdentity": "link_with must be a verifiable ID token; link_with and provider + user_id exclude each other",
    "updateConnection": "import_mode true needs a complete upstream configuration (stored and patched together)",
    "createMigrationSource": "the connection must exist; the domain must be a host, an https URL or a loopback http URL",
    "updateMigrationSource": "as createMigrationSource; changing domain or client_id needs the secret again",
    "listLogs": "page * per_page must stay under 1,000 (Auth0's paging window)",
    "createResourceServer": "scope values must be unique (two objects with one `value`: no JSON Schema keyword says it)",
    "updateResourceServer": "the identifier is immutable (only the stored one may be repeated); the system API's "
                            "identifier, name and scopes cannot change",
    "deleteResourceServer": "the system API (the Management API itself) cannot be deleted",
    "listClientGrants": "a `from` checkpoint must be one a page handed out (any other string is 400)",
    "createClientGrant": "every scope must be one the API defines",
    "updateClientGrant": "every scope must be one the API defines",
    # Universal Login: a browser's request names records no generated request can hold (a registered client and
    # callback, a login transaction bound to a cookie, a CSRF token its page showed, a registered logout URL).
    # Legacy endpoints are disabled: every request is refused (403 or 404), whatever it carries.
    "legacyResourceOwner": "always refused", "legacyDelegation": "always refused", "legacyTokeninfo": "always refused",
    "legacyLockLogin": "always refused", "legacySsoData": "always refused", "legacyAccessToken": "always refused",
    "authorize": "an unknown client or unregistered redirect_uri is a 400 page",
    "authorizeByPost": "as authorize",
    "authorizeResume": "an unknown login transaction (or one without its cookie) is a 400 page",
    "loginPage": "as authorizeResume",
    "login": "as authorizeResume; a failed login shows the form again with 400",
    "signupPage": "as authorizeResume",
    "signup": "as authorizeResume; an existing user or a weak password shows the form again with 400",
    "logout": "an unknown client_id or a returnTo not among the Allowed Logout URLs is a 400 page",
    "oidcLogout": "an id_token_hint must be an ID token of this tenant; post_logout_redirect_uri must be registered",
    "oidcLogoutByPost": "as oidcLogout",
}
# A body over GANGWAY_MAX_BODY_BYTES is refused by size (413) before its schema is read: a rejection too.
NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5XX"]
POSITIVE_STATUSES = ["2XX", "3XX", "400", "401", "403", "404", "409", "429", "5XX"]


def config_file(gw, path: Path) -> Path:
    """schemathesis.toml: one credential per security scheme of openapi.yaml, and SEMANTIC_400."""
    tenant = gw.tenant
    m2m, app = tenant.init["management"], tenant.init["app"]
    management = token(
        gw, grant_type="client_credentials", client_id=m2m["client_id"], client_secret=m2m["client_secret"],
        audience=tenant.issuer + "api/v2/",
    )
    granted = set(management["scope"].split())
    assert {"read:users", "create:users", "update:users", "delete:users", "update:connections", "read:logs",
            "delete:migration_sources"} <= granted, granted

    email, password = f"st-{uuid.uuid4().hex[:10]}@example.com", "Conformance-Pa55word!"
    created = requests.post(
        gw.base + "api/v2/users", timeout=15, headers={"Authorization": "Bearer " + management["access_token"]},
        json={"connection": "Username-Password-Authentication", "email": email, "password": password},
    )
    assert created.status_code == 201, created.text
    user = token(
        gw, grant_type="password", client_id=app["client_id"], client_secret=app["client_secret"], username=email,
        password=password, scope="openid profile email",
    )
    lines = [
        "[auth.openapi.managementToken]",
        f"bearer = {json.dumps(management['access_token'])}",
        "[auth.openapi.accessToken]",
        f"bearer = {json.dumps(user['access_token'])}",
        "[auth.openapi.clientSecretBasic]",
        f"username = {json.dumps(app['client_id'])}",
        f"password = {json.dumps(app['client_secret'])}",
    ]
    lines += ["[checks.negative_data_rejection]", f"expected-statuses = {json.dumps(NEGATIVE_STATUSES)}"]
    for operation_id in SEMANTIC_400:
        lines += [
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation_id)}",
            f"checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE_STATUSES)}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_operation_conforms_to_openapi_yaml_under_every_check(conformance_gateway, tmp_path):
    gw = conformance_gateway
    config = config_file(gw, tmp_path / "schemathesis.toml")
    report, har = tmp_path / "report.json", tmp_path / "requests.har"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", str(OPENAPI), "--url", gw.base.rstrip("/"),
        "--checks", "all", "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-deterministic",
        "--workers", "1", "--suppress-health-check", "too_slow", "--request-timeout", "30",
        "--continue-on-failure", "--output-truncate", "false",
        "--report", "json,har", "--report-json-path", str(report), "--report-har-path", str(har),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=str(tmp_path))
    (tmp_path / "schemathesis.out").write_text(run.stdout + run.stderr)
    summary = json.loads(report.read_text())
    requests_sent = len(json.loads(har.read_text())["log"]["entries"])
    print(
        f"schemathesis {summary['schemathesis_version']}: {summary['operations']['tested']} operations, "
        f"{summary['test_cases']['generated']} test cases, {requests_sent} requests, "
        f"{summary['test_cases']['unique_failures']} failures, {len(summary['errors'])} errors "
        f"in {summary['running_time']:.0f} s"
    )
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-5000:]
    routes = len(json.loads((REPO / "infra" / "routes.json").read_text())["routes"])  # every route is described
    assert summary["operations"]["tested"] == summary["operations"]["total"] == routes, summary["operations"]
    assert summary["test_cases"]["unique_failures"] == 0 and not summary["errors"], summary["failures"]
    assert requests_sent > 1000, requests_sent
