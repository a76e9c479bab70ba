"""Bulk user import and export jobs (issue 14) through auth0-python's `jobs` client and the real gateway.

The request function records a job; the `jobs-worker` function, started by the gateway on a timer (`--schedule-every`),
does it. A worker killed mid-job is resumed by the next run without inserting anyone twice.
"""
import gzip
import io
import json
import os
import signal
import time
import uuid

import pytest
import requests
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from conftest import process_name, processes_with_store, run_gangway
from test_auth0_sdk_management import CONNECTION, management_token

SCOPES = "read:users create:users read:connections"


def client(gw, scope: str = SCOPES) -> Auth0:
    return Auth0(base_url=f"http://127.0.0.1:{gw.port}/api/v2", token=management_token(gw.tenant, scope), max_retries=0)


def connection_id(mgmt) -> str:
    return next(c.id for c in mgmt.connections.list() if c.name == CONNECTION)


def users_file(users: list) -> tuple:
    return ("users.json", io.BytesIO(json.dumps(users).encode()), "application/json")


def wait_for(mgmt, job_id: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = mgmt.jobs.get(job_id)
        if job.status in ("completed", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")


def login(gw, username: str, password: str) -> requests.Response:
    return requests.post(gw.base + "oauth/token", data={
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": CONNECTION, "username": username,
        "password": password, "client_id": gw.tenant.client_id, "client_secret": gw.tenant.init["app"]["client_secret"],
        "scope": "openid",
    }, timeout=30)


def bcrypt_hash(password: str) -> str:
    import bcrypt
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def jobs_gw(start_gateway):
    """A gateway whose worker runs every 0.2 s."""
    return start_gateway("warm", args=["--schedule-every", "0.2"])


@pytest.fixture(scope="module")
def mgmt(jobs_gw):
    return client(jobs_gw)


def test_import_job_inserts_valid_users_and_lists_the_invalid_ones_with_their_paths(jobs_gw, mgmt):
    tag = uuid.uuid4().hex[:8]
    good = [
        {"email": f"imp-{tag}-{i}@example.com", "email_verified": True, "name": f"Imported {i}",
         "user_metadata": {"n": i}, "app_metadata": {"plan": "gold"}}
        for i in range(5)
    ]
    hashed = {"email": f"imp-{tag}-bcrypt@example.com", "password_hash": bcrypt_hash("Imported-Pa55!"), "user_id": f"imp{tag}"}
    bad = [
        {"name": "no email"},
        {"email": "not-an-email"},
        {"email": f"imp-{tag}-x@example.com", "favourite_colour": "blue"},
        {"email": f"imp-{tag}-y@example.com", "app_metadata": {"email": "reserved"}},
        {"email": f"imp-{tag}-0@example.com"},  # the same user twice in one file
    ]
    created = mgmt.jobs.users_imports.create(
        users=users_file(good + [hashed] + bad), connection_id=connection_id(mgmt), external_id=f"ext-{tag}")
    assert created.status == "pending" and created.type == "users_import" and created.id.startswith("job_")
    assert created.external_id == f"ext-{tag}" and created.upsert is False and created.send_completion_email is True

    job = wait_for(mgmt, created.id)
    assert job.status == "completed", job
    assert (job.summary.total, job.summary.inserted, job.summary.updated, job.summary.failed) == (11, 6, 0, 5)

    errors = mgmt.jobs.errors.get(created.id)
    codes = sorted((e.errors[0].code, e.errors[0].path) for e in errors)
    assert codes == sorted([
        ("OBJECT_REQUIRED", "email"), ("FORMAT", "email"), ("OBJECT_ADDITIONAL_PROPERTIES", "favourite_colour"),
        ("NOT_PASSED", "app_metadata.email"), ("DUPLICATED_USER", "email"),
    ])
    duplicate = next(e for e in errors if e.errors[0].code == "DUPLICATED_USER")
    assert duplicate.errors[0].message == "A user with this email was already provided."

    users = {u.email: u for u in mgmt.users.list(per_page=100) if u.email and tag in u.email}
    assert set(users) == {u["email"] for u in good} | {hashed["email"]}
    first = users[good[0]["email"]]
    assert first.email_verified is True and first.name == "Imported 0" and first.app_metadata == {"plan": "gold"}
    # Auth0 prefixes the strategy to an imported id.
    assert users[hashed["email"]].user_id == f"auth0|imp{tag}"
    # A bcrypt password_hash is the user's own: they log in with their old password.
    assert login(jobs_gw, hashed["email"], "Imported-Pa55!").status_code == 200
    assert login(jobs_gw, hashed["email"], "Wrong-Pa55!").status_code == 403
    # The job is logged (sapi for the request, sui when it completed).
    logs = requests.get(jobs_gw.base + "api/v2/logs", headers={
        "Authorization": "Bearer " + management_token(jobs_gw.tenant, "read:logs")}, params={"per_page": 100}, timeout=10).json()
    assert any(e["type"] == "sui" and e["details"]["job_id"] == created.id for e in logs)
    assert any(e["type"] == "sapi" and e["description"] == "Create import users job" for e in logs)


def test_job_errors_redact_secrets_and_are_204_when_there_are_none(jobs_gw, mgmt):
    tag = uuid.uuid4().hex[:8]
    clean = mgmt.jobs.users_imports.create(users=users_file([{"email": f"ok-{tag}@example.com"}]), connection_id=connection_id(mgmt))
    assert wait_for(mgmt, clean.id).summary.inserted == 1
    r = requests.get(jobs_gw.base + f"api/v2/jobs/{clean.id}/errors",
                     headers={"Authorization": "Bearer " + management_token(jobs_gw.tenant)}, timeout=10)
    assert (r.status_code, r.text) == (204, "")

    secret = "SuperSecretHashValue"
    bad = {"email": f"bad-{tag}@example.com", "custom_password_hash": {
        "algorithm": "rot13", "hash": {"value": secret, "encoding": "utf8"}}}
    job = mgmt.jobs.users_imports.create(users=users_file([bad]), connection_id=connection_id(mgmt))
    assert wait_for(mgmt, job.id).summary.failed == 1
    r = requests.get(jobs_gw.base + f"api/v2/jobs/{job.id}/errors",
                     headers={"Authorization": "Bearer " + management_token(jobs_gw.tenant)}, timeout=10)
    assert r.status_code == 200 and secret not in r.text
    [item] = r.json()
    assert item["user"]["custom_password_hash"]["hash"]["value"] == "*****"
    assert item["errors"][0]["path"] == "custom_password_hash.algorithm"


def test_upsert_replaces_upsertable_fields_only(jobs_gw, mgmt):
    tag = uuid.uuid4().hex[:8]
    email = f"ups-{tag}@example.com"
    first = mgmt.jobs.users_imports.create(users=users_file([{
        "email": email, "username": f"ups{tag}", "email_verified": True, "name": "Before",
        "user_metadata": {"a": 1, "b": 2}, "blocked": False,
    }]), connection_id=connection_id(mgmt))
    assert wait_for(mgmt, first.id).summary.inserted == 1

    again = [{"email": email, "name": "After", "user_metadata": {"c": 3}, "blocked": True}]
    refused = mgmt.jobs.users_imports.create(users=users_file(again), connection_id=connection_id(mgmt))
    done = wait_for(mgmt, refused.id)
    assert (done.summary.failed, done.summary.updated) == (1, 0)
    assert mgmt.jobs.errors.get(refused.id)[0].errors[0].message == "The user already exist and upsert parameter is false"

    upserted = mgmt.jobs.users_imports.create(users=users_file(again), connection_id=connection_id(mgmt), upsert=True)
    assert upserted.upsert is True
    done = wait_for(mgmt, upserted.id)
    assert (done.summary.updated, done.summary.inserted, done.summary.failed) == (1, 0, 0)
    [user] = [u for u in mgmt.users.list(per_page=100) if u.email == email]
    # Metadata replaced (not merged); blocked is not upsertable; email_verified unchanged when the file is silent.
    assert user.name == "After" and user.user_metadata == {"c": 3}
    assert not getattr(user, "blocked", False) and user.email_verified is True and user.username == f"ups{tag}"


def test_import_request_limits_answer_as_auth0(jobs_gw, mgmt):
    cid = connection_id(mgmt)
    big = [{"email": f"big-{i}@example.com", "name": "x" * 200} for i in range(2400)]
    body = json.dumps(big).encode()
    assert len(body) > 512_000
    with pytest.raises(ApiError) as e:
        mgmt.jobs.users_imports.create(users=("users.json", io.BytesIO(body), "application/json"), connection_id=cid)
    assert e.value.status_code == 413
    assert e.value.body["message"] == "Payload content length greater than maximum allowed: 512000"

    with pytest.raises(ApiError) as e:
        mgmt.jobs.users_imports.create(users=users_file([]), connection_id="con_short")
    assert e.value.status_code == 400 and "does not match pattern ^con_[A-Za-z0-9]{16}$" in e.value.body["message"]
    with pytest.raises(ApiError) as e:
        mgmt.jobs.users_imports.create(users=users_file([]), connection_id="con_AAAAAAAAAAAAAAAA")
    assert e.value.status_code == 400
    # create:users is required.
    with pytest.raises(ApiError) as e:
        client(jobs_gw, "read:users read:connections").jobs.users_imports.create(users=users_file([]), connection_id=cid)
    assert e.value.status_code == 403
    with pytest.raises(ApiError) as e:
        mgmt.jobs.get("job_doesnotexist12345")
    assert e.value.status_code == 404
    # An export field's export_as must be a string (schemathesis found an object accepted).
    with pytest.raises(ApiError) as e:
        mgmt.jobs.users_exports.create(format="csv", fields=[{"name": "email", "export_as": {}}])
    assert e.value.status_code == 400 and "on property fields.export_as" in e.value.body["message"]


def test_a_file_that_is_not_a_json_array_fails_the_job_and_logs_fui(jobs_gw, mgmt):
    ndjson = b'{"email": "a@example.com"}\n{"email": "b@example.com"}\n'
    job = mgmt.jobs.users_imports.create(users=("users.json", io.BytesIO(ndjson), "text/json"), connection_id=connection_id(mgmt))
    done = wait_for(mgmt, job.id)
    assert done.status == "failed" and "JSON array" in done.status_details


def test_a_third_active_import_job_gets_429(start_gateway):
    # A gateway whose worker never runs in this test: both jobs stay pending.
    gw = start_gateway("cgi", args=["--schedule-every", "3600"])
    mgmt = client(gw)
    cid = connection_id(mgmt)
    for _ in range(2):
        assert mgmt.jobs.users_imports.create(users=users_file([{"email": f"{uuid.uuid4().hex}@example.com"}]), connection_id=cid).status == "pending"
    with pytest.raises(ApiError) as e:
        mgmt.jobs.users_imports.create(users=users_file([]), connection_id=cid)
    assert e.value.status_code == 429
    assert e.value.body["message"] == (
        "There are 2 active import users jobs, please wait until some of them are finished and try again")


def test_a_killed_worker_is_resumed_without_inserting_anyone_twice(start_gateway):
    # cgi: each scheduled run is its own process, killed here mid-job; small chunks and a short lease.
    gw = start_gateway("cgi", args=["--schedule-every", "0.3"],
                       env={"GANGWAY_JOBS_CHUNK_SIZE": "1", "GANGWAY_JOBS_LEASE_SECONDS": "2"})
    mgmt = client(gw)
    tag = uuid.uuid4().hex[:8]
    n = 2500
    users = [{"email": f"k{i}-{tag}@example.com"} for i in range(n)]
    job = mgmt.jobs.users_imports.create(users=users_file(users), connection_id=connection_id(mgmt))

    killed = 0
    deadline = time.monotonic() + 60
    while killed == 0 and time.monotonic() < deadline:
        if mgmt.jobs.get(job.id).status == "processing":
            for pid in processes_with_store(gw.store):
                if os.path.basename(process_name(pid)) == "jobs-worker":
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
        time.sleep(0.02)
    assert killed, "the worker was never seen working"
    assert mgmt.jobs.get(job.id).status == "processing"  # interrupted, not finished

    done = wait_for(mgmt, job.id, timeout=120)
    assert done.status == "completed"
    assert (done.summary.total, done.summary.inserted, done.summary.failed) == (n, n, 0)
    emails = [u.email for u in mgmt.users.list(per_page=100) if u.email and tag in u.email]
    assert len(emails) == len(set(emails)) == n


def test_export_job_serves_a_gzipped_file_to_its_own_application_only(jobs_gw, mgmt):
    tag = uuid.uuid4().hex[:8]
    imported = mgmt.jobs.users_imports.create(users=users_file([
        {"email": f"exp-{tag}-{i}@example.com", "name": f"=cmd|{i}"} for i in range(3)
    ]), connection_id=connection_id(mgmt))
    assert wait_for(mgmt, imported.id).summary.inserted == 3

    job = mgmt.jobs.users_exports.create(format="json", fields=[{"name": "email"}, {"name": "identities[0].connection", "export_as": "conn"}])
    assert job.type == "users_export" and job.format == "json"
    done = wait_for(mgmt, job.id)
    assert done.status == "completed" and done.location.endswith(f"/api/v2/jobs/{job.id}/file")
    token = management_token(jobs_gw.tenant)
    r = requests.get(done.location, headers={"Authorization": "Bearer " + token}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "application/gzip"
    lines = [json.loads(line) for line in gzip.decompress(r.content).decode().splitlines()]
    mine = [line for line in lines if tag in (line.get("email") or "")]
    assert len(mine) == 3 and all(line["conn"] == CONNECTION and set(line) == {"email", "conn"} for line in mine)
    # No credentials: 401. Another application's credentials: 404, as if there were no file.
    assert requests.get(done.location, timeout=10).status_code == 401
    other = run_gangway("apps", "create", "--store", jobs_gw.store, "--tenant", jobs_gw.tenant.issuer, "--name", f"other-{tag}",
                        "--app-type", "non_interactive", "--grant-types", "client_credentials")
    other_id = json.loads(other.stdout)["client_id"]
    foreign = run_gangway("jwt", "sign", "--store", jobs_gw.store, "--tenant", jobs_gw.tenant.issuer, "--type", "at+jwt", "--claims", json.dumps({
        "sub": f"{other_id}@clients", "aud": jobs_gw.tenant.issuer + "api/v2/", "scope": "read:users", "azp": other_id,
        "gty": "client-credentials"})).stdout.strip()
    assert requests.get(done.location, headers={"Authorization": "Bearer " + foreign}, timeout=10).status_code == 404

    csv_job = mgmt.jobs.users_exports.create(format="csv", fields=[{"name": "email"}, {"name": "name"}])
    csv_done = wait_for(mgmt, csv_job.id)
    text = gzip.decompress(requests.get(csv_done.location, headers={"Authorization": "Bearer " + token}, timeout=10).content).decode()
    rows = text.splitlines()
    assert rows[0] == '"email","name"'
    # CSV injection: a cell that starts with = gets a leading quote.
    assert f'"exp-{tag}-0@example.com","\'=cmd|0"' in rows
