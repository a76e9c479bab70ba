"""Imported password hashes (issue 14): every algorithm Auth0's import accepts, with vectors made by libraries nobody
here wrote (tests/hash_vectors.py: passlib, argon2-cffi, bcrypt, hashlib, hmac), imported through auth0-python's jobs
client and logged in through the real gateway; and the no-lock-in round trip through the CLI.
"""
import json
import subprocess
import uuid

import pytest
import requests

from conftest import GANGWAY, init_tenant, run_gangway
from hash_vectors import vectors
from test_auth0_sdk_management import CONNECTION
from test_user_import_jobs import client, connection_id, login, users_file, wait_for


@pytest.fixture(scope="module")
def gw(start_gateway):
    return start_gateway("warm", args=["--schedule-every", "0.2"])


def logs(gw) -> list:
    from test_auth0_sdk_management import management_token
    token = management_token(gw.tenant, "read:logs")
    out, page = [], 0
    while True:
        batch = requests.get(gw.base + "api/v2/logs", headers={"Authorization": "Bearer " + token},
                             params={"per_page": 100, "page": page}, timeout=10).json()
        out += batch
        if len(batch) < 100:
            return out
        page += 1


def test_every_algorithm_logs_in_with_the_right_password_only_and_is_then_rehashed(gw):
    mgmt = client(gw)
    tag = uuid.uuid4().hex[:8]
    cases = vectors()
    users = []
    for i, v in enumerate(cases):
        user = {"email": f"hv{i}-{tag}@example.com"}
        user.update({k: v[k] for k in ("password_hash", "custom_password_hash") if k in v})
        users.append(user)
    job = wait_for(mgmt, mgmt.jobs.users_imports.create(users=users_file(users), connection_id=connection_id(mgmt)).id)
    assert (job.summary.inserted, job.summary.failed) == (len(cases), 0), mgmt.jobs.errors.get(job.id)

    failures = []
    for user, v in zip(users, cases):
        wrong = login(gw, user["email"], v["wrong_password"])
        right = login(gw, user["email"], v["password"])
        again = login(gw, user["email"], v["password"])  # now against Gangway's own bcrypt hash
        if (wrong.status_code, right.status_code, again.status_code) != (403, 200, 200):
            failures.append((v["name"], wrong.status_code, right.status_code, again.status_code, right.text[:200]))
        # A wrong password answers as any wrong password: nothing says which algorithm the user has.
        assert wrong.json() == {"error": "invalid_grant", "error_description": "Wrong email or password."}
    assert not failures, failures

    # Each imported non-bcrypt-password_hash user's hash was replaced, and the replacement logged (spm).
    replaced = {e["user_name"]: e["details"]["imported_algorithm"] for e in logs(gw)
                if e["type"] == "spm" and tag in (e.get("user_name") or "")}
    expected = {u["email"]: u["custom_password_hash"]["algorithm"] for u in users if "custom_password_hash" in u}
    assert replaced == expected


def test_malformed_hash_objects_fail_alone_with_the_path_of_the_bad_field(gw):
    mgmt = client(gw)
    tag = uuid.uuid4().hex[:8]
    bad = [
        {"algorithm": "argon2", "hash": {"value": "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"},
         "salt": {"value": "x"}},
        {"algorithm": "bcrypt", "hash": {"value": "$2x$10$" + "a" * 53}},
        {"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=20000000,l=32$c2FsdA$" + "A" * 43}},
        {"algorithm": "sha256", "hash": {"value": "00", "encoding": "rot13"}},
        {"algorithm": "hmac", "hash": {"value": "00" * 32, "encoding": "hex", "digest": "sha256"}},
    ]
    good = {"email": f"fine-{tag}@example.com", "password_hash": vectors()[0]["custom_password_hash"]["hash"]["value"]}
    users = [{"email": f"bad{i}-{tag}@example.com", "custom_password_hash": h} for i, h in enumerate(bad)] + [good]
    job = wait_for(mgmt, mgmt.jobs.users_imports.create(users=users_file(users), connection_id=connection_id(mgmt)).id)
    assert (job.summary.inserted, job.summary.failed) == (1, len(bad))
    paths = {e.user["email"]: (e.errors[0].code, e.errors[0].path) for e in mgmt.jobs.errors.get(job.id)}
    assert paths[f"bad0-{tag}@example.com"] == ("OBJECT_ADDITIONAL_PROPERTIES", "custom_password_hash.salt")
    assert paths[f"bad1-{tag}@example.com"][1] == "custom_password_hash.hash.value"
    assert paths[f"bad2-{tag}@example.com"][0] == "MAXIMUM"
    assert paths[f"bad3-{tag}@example.com"] == ("ENUM_MISMATCH", "custom_password_hash.hash.encoding")
    assert paths[f"bad4-{tag}@example.com"][1].startswith("custom_password_hash.hash.key")


def cli(*args: str, input_text: str | None = None) -> dict:
    proc = subprocess.run([str(GANGWAY), *args], capture_output=True, text=True, timeout=300, input=input_text)
    assert proc.returncode == 0, proc.stderr
    # Off a terminal: no progress line, one JSON summary.
    assert "\r" not in proc.stderr
    return json.loads(proc.stdout)


def test_no_lock_in_export_with_hashes_then_import_into_a_fresh_store_and_everyone_logs_in(gw, start_gateway, tmp_path):
    # Store A: users arrive through the CLI from NDJSON (Auth0's export format), one of them malformed.
    store_a = f"sqlite:{tmp_path / 'a.db'}"
    a = init_tenant(store_a, "http://a.example/")
    cases = [v for v in vectors() if "custom_password_hash" in v][::4] + [v for v in vectors() if "password_hash" in v]
    tag = uuid.uuid4().hex[:8]
    lines = [json.dumps({"email": f"rt{i}-{tag}@example.com", "name": v["name"],
                         **{k: v[k] for k in ("password_hash", "custom_password_hash") if k in v}})
             for i, v in enumerate(cases)]
    lines.append('{"email": "broken@example.com", "custom_password_hash": {"algorithm": "md5"}}')
    source = tmp_path / "users.ndjson"
    source.write_text("\n".join(lines) + "\n")
    summary = cli("users", "import", str(source), "--store", store_a, "--tenant", a.issuer)
    assert (summary["total"], summary["inserted"], summary["failed"]) == (len(cases) + 1, len(cases), 1)
    [error] = [json.loads(line) for line in open(summary["errors_file"])]
    assert error["row"] == len(cases) and error["errors"][0]["path"] == "custom_password_hash.hash"

    # Half of them log in on A first (their imported hash becomes bcrypt), half never do: both kinds must travel.
    # (A has no gateway: the CLI export is the operator's door, so log-ins happen after the move, on B.)
    exported = tmp_path / "with-hashes.ndjson"
    out = cli("users", "export", "--with-password-hashes", "--output", str(exported), "--store", store_a, "--tenant", a.issuer)
    assert out["exported"] == len(cases)
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert all(("password_hash" in r) != ("custom_password_hash" in r) for r in rows)
    assert oct(exported.stat().st_mode & 0o777) == "0o600"

    # B: a fresh store behind a gateway; the exported file goes in unchanged; every user logs in.
    b = start_gateway("warm")
    summary = cli("users", "import", str(exported), "--store", b.store, "--tenant", b.tenant.issuer)
    assert (summary["inserted"], summary["failed"]) == (len(cases), 0)
    for i, v in enumerate(cases):
        assert login(b, f"rt{i}-{tag}@example.com", v["password"]).status_code == 200, v["name"]
        assert login(b, f"rt{i}-{tag}@example.com", v["wrong_password"]).status_code == 403, v["name"]
    # Ids came along unchanged (Auth0 prefixes `auth0|` at import; the export gives them without it).
    ids_a = {r["email"]: r["user_id"] for r in rows}
    again = tmp_path / "again.ndjson"
    cli("users", "export", "--with-password-hashes", "--output", str(again), "--store", b.store, "--tenant", b.tenant.issuer)
    assert {json.loads(l)["email"]: json.loads(l)["user_id"] for l in again.read_text().splitlines()} == ids_a


def test_cli_export_writes_auth0_formats_without_hashes(gw, tmp_path):
    out = subprocess.run([str(GANGWAY), "users", "export", "--format", "csv", "--fields", "email,user_id", "--store", gw.store,
                          "--tenant", gw.tenant.issuer], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == '"email","user_id"'
    plain = subprocess.run([str(GANGWAY), "users", "export", "--store", gw.store, "--tenant", gw.tenant.issuer],
                           capture_output=True, text=True, timeout=60)
    assert "$2" not in plain.stdout and "password" not in plain.stdout
    for line in plain.stdout.splitlines():
        assert "user_id" in json.loads(line)
