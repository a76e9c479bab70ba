"""A cutover that logs nobody out (issue 15): the old Auth0 tenant's public keys, imported with
`gangway keys upstream import`, are published in Gangway's JWKS and trusted at /userinfo until the transition
deadline, so the tokens Auth0 signed before the domain moved keep working; the Management API never accepts them.
Tokens are checked with joserfc (a resource server's view) and the fake upstream signs them as Auth0 would.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from conftest import run_gangway
from fake_auth0 import FakeAuth0
from hosted_login import mgmt_request


def upstream_access_token(fake: FakeAuth0, gw, sub: str, audience: list[str] | str | None = None, lifetime: int = 3600,
                          scope: str = "openid profile email", issuer: str | None = None) -> str:
    """An access token as the old tenant issued it before the cutover: same issuer (the domain moved), typ JWT."""
    now = int(time.time())
    return fake.sign({
        "iss": issuer or gw.base, "sub": sub, "aud": audience or [gw.base + "api/orders", gw.base + "userinfo"],
        "iat": now - 60, "exp": now + lifetime, "scope": scope, "azp": "spa-client-from-auth0",
    })


def keys(gw, *args: str):
    """`gangway keys …` for the gateway's tenant, failing or not."""
    return run_gangway("keys", *args, "--store", gw.store, "--tenant", gw.tenant.issuer, check=False)


def userinfo(gw, token: str) -> requests.Response:
    return gw.get("/userinfo", headers={"Authorization": "Bearer " + token})


def verifies_against_jwks(gw, token: str) -> bool:
    """What a resource server that trusts the domain's JWKS decides (joserfc, fetched fresh)."""
    try:
        jwt.decode(token, KeySet.import_key_set(gw.jwks()), algorithms=["RS256"])
        return True
    except (JoseError, ValueError):
        return False


@pytest.fixture(scope="module")
def cutover(start_gateway):
    """A gateway whose tenant imported a fake upstream's JWKS, and a user the upstream knows as `auth0|<id>`."""
    gw = start_gateway("warm")
    with FakeAuth0() as fake:
        out = keys(gw, "upstream", "import", "--domain", fake.base)
        assert out.returncode == 0 and "imported 1 upstream key(s)" in out.stdout, out
        local_id = "cut" + uuid.uuid4().hex[:10]
        created = mgmt_request(gw, "POST", "users", json={
            "connection": "Username-Password-Authentication", "user_id": local_id, "email": f"{local_id}@example.com",
            "password": "Cutover-Pa55word!", "name": "Cut Over"})
        assert created.status_code == 201, created.text
        yield gw, fake, created.json()["user_id"]


def test_the_jwks_publishes_the_upstream_key_beside_gangways_own_and_a_resource_server_verifies_old_tokens(cutover):
    gw, fake, sub = cutover
    kids = [k["kid"] for k in gw.jwks()["keys"]]
    own = keys(gw, "list").stdout
    assert fake.state.key().kid in kids and kids[0] in own, (kids, own)
    assert all("d" not in k and "p" not in k for k in gw.jwks()["keys"])  # public parts only
    assert verifies_against_jwks(gw, upstream_access_token(fake, gw, sub))
    # The listing says which keys are the old tenant's and until when.
    line = next(l for l in own.splitlines() if l.startswith(fake.state.key().kid))
    assert "\tupstream\t" in line and "open until" in line, line


def test_userinfo_answers_for_the_migrated_user_with_a_token_the_old_tenant_signed(cutover):
    gw, fake, sub = cutover
    r = userinfo(gw, upstream_access_token(fake, gw, sub))
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == sub and r.json()["name"] == "Cut Over"


def test_an_upstream_token_is_refused_where_it_does_not_qualify(cutover):
    gw, fake, sub = cutover
    # Not for /userinfo (an ID token's audience is the application; an API-only access token).
    for audience in ("spa-client-from-auth0", gw.base + "api/orders"):
        r = userinfo(gw, upstream_access_token(fake, gw, sub, audience=audience))
        assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"], (audience, r.text)
    # Expired, another issuer, no openid scope, a user Gangway does not know.
    assert userinfo(gw, upstream_access_token(fake, gw, sub, lifetime=-120)).status_code == 401
    assert userinfo(gw, upstream_access_token(fake, gw, sub, issuer="https://someone-else.auth0.com/")).status_code == 401
    assert userinfo(gw, upstream_access_token(fake, gw, sub, scope="profile")).status_code == 403
    assert userinfo(gw, upstream_access_token(fake, gw, "auth0|nobody-here")).status_code == 401


def test_a_token_signed_by_a_key_nobody_imported_is_still_401(cutover):
    gw, _, sub = cutover
    with FakeAuth0() as stranger:
        token = upstream_access_token(stranger, gw, sub)
        assert userinfo(gw, token).status_code == 401
        assert not verifies_against_jwks(gw, token)


def test_the_management_api_never_accepts_a_token_the_old_tenant_signed(cutover):
    gw, fake, sub = cutover
    claims = {
        "iss": gw.base, "sub": "m2m@clients", "aud": gw.base + "api/v2/", "gty": "client-credentials",
        "iat": int(time.time()), "exp": int(time.time()) + 600, "scope": "read:users read:clients"}
    for typ in ("JWT", "at+jwt"):
        r = gw.get("/api/v2/users", headers={"Authorization": "Bearer " + fake.sign(claims, typ=typ)})
        assert r.status_code == 401, r.text
    # The same user's token is good at /userinfo meanwhile: the refusal is the door's, not the token's.
    assert userinfo(gw, upstream_access_token(fake, gw, sub)).status_code == 200


def test_an_import_refuses_what_is_not_an_rs256_signing_jwks(start_gateway, tmp_path):
    gw = start_gateway("cgi")
    own_kid = json.loads(gw.get("/.well-known/jwks.json").text)["keys"][0]["kid"]
    with FakeAuth0() as fake:
        good = fake.state.key().as_dict(private=False)
    cases = {
        "not-a-jwks.json": ({"kid": "x"}, "not a JWKS document"),
        "empty.json": ({"keys": []}, "has no keys"),
        "ec.json": ({"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "a", "y": "b"}]}, "not an RSA key"),
        "hs.json": ({"keys": [{**good, "alg": "HS256"}]}, "not an RS256 signing key"),
        "enc.json": ({"keys": [{**good, "use": "enc"}]}, "not an RS256 signing key"),
        "bad-modulus.json": ({"keys": [{**good, "n": "AQAB"}]}, "not a usable RSA public key"),
        "own-kid.json": ({"keys": [{**good, "kid": own_kid}]}, "one of this tenant's own keys"),
        "twice.json": ({"keys": [good, good]}, "appears twice"),
    }
    for name, (document, message) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(document))
        out = keys(gw, "upstream", "import", "--file", str(path))
        assert out.returncode != 0 and message in out.stderr, (name, out)
    assert len(gw.jwks()["keys"]) == 1  # nothing was imported
    unreachable = keys(gw, "upstream", "import", "--domain", "http://127.0.0.1:9")
    assert unreachable.returncode != 0 and "127.0.0.1:9/.well-known/jwks.json" in unreachable.stderr, unreachable
    assert keys(gw, "upstream", "import", "--domain", "http://example.com").returncode != 0  # https only off loopback


def test_after_the_deadline_the_old_tenants_tokens_stop_verifying_everywhere(start_gateway):
    gw = start_gateway("cgi")
    with FakeAuth0() as fake:
        assert keys(gw, "upstream", "import", "--domain", fake.base).returncode == 0
        user = mgmt_request(gw, "POST", "users", json={
            "connection": "Username-Password-Authentication", "user_id": "late" + uuid.uuid4().hex[:8],
            "email": f"late-{uuid.uuid4().hex[:8]}@example.com", "password": "Cutover-Pa55word!"}).json()
        token = upstream_access_token(fake, gw, user["user_id"])
        assert verifies_against_jwks(gw, token) and userinfo(gw, token).status_code == 200

        moved = keys(gw, "upstream", "deadline", "now")
        assert moved.returncode == 0 and "(closed)" in moved.stdout, moved
        assert fake.state.key().kid not in [k["kid"] for k in gw.jwks()["keys"]]
        assert not verifies_against_jwks(gw, token)
        r = userinfo(gw, token)
        assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"], r.text
        assert "closed until" in keys(gw, "list").stdout

        # Moving it back out re-opens the window (an operator who closed it too early).
        assert keys(gw, "upstream", "deadline", "2999-01-01T00:00:00Z").returncode == 0
        assert userinfo(gw, token).status_code == 200
        assert keys(gw, "upstream", "deadline", "tomorrow").returncode != 0


def test_the_default_deadline_is_the_longest_api_token_lifetime_at_least_a_day(start_gateway):
    gw = start_gateway("cgi")
    api = mgmt_request(gw, "POST", "resource-servers", scope="create:resource_servers",
                       json={"identifier": "https://orders.example/", "name": "orders", "token_lifetime": 172800})
    assert api.status_code == 201, api.text
    with FakeAuth0() as fake:
        before = time.time()
        out = keys(gw, "upstream", "import", "--domain", fake.base)
    assert out.returncode == 0, out
    until = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    deadline = time.mktime(time.strptime(until, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before + 172800 - 5 <= deadline <= time.time() + 172800 + 5, (until, before)
