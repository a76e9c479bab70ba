"""Account linking (issue 5) against the real gateway, with the rules of Auth0's 2018 linking migration
(reference seeds 001 and 002):

- one row per use case of seed 002's table: "Affected" calls are rejected with an error naming the rule,
  "Not affected" calls and the "New use case" work;
- auth0-python 6.x's Management client (`users.identities.link` / `users.identities.delete`) linking and unlinking
  server-side (update:users) and user-initiated (a user's own token with update:current_user_identities);
- `link_with` is verified fully (typ, RS256, key, expiry, aud = azp), logins of a linked secondary resolve to the
  primary, unlinking makes it standalone again, and two racing links of one secondary: one wins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import jwt as pyjwt
import pytest
import requests
from auth0.authentication import GetToken
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from conftest import init_tenant, run_gangway

CONNECTION = "Username-Password-Authentication"
PASSWORD = "Link-Pa55word!"
USER_SCOPE = "openid update:current_user_identities"
SEED_001_RULE = "update:current_user_identities must send the secondary account's ID token in link_with"


def sign(tenant, claims: dict, typ: str = "at+jwt", issuer: str | None = None) -> str:
    return run_gangway(
        "jwt", "sign", "--store", tenant.store, "--tenant", issuer or tenant.issuer, "--type", typ, "--claims", json.dumps(claims)
    ).stdout.strip()


def admin_token(tenant, scope: str = "read:users create:users update:users read:logs", azp: str | None = None) -> str:
    """A client-credentials Management API token; `azp` = the management client unless named (a link_with ID token's
    aud must equal the azp of the token that sends it, so server-side link_with tokens are the app's own)."""
    client = azp or tenant.init["management"]["client_id"]
    return sign(tenant, {
        "sub": f"{client}@clients", "aud": tenant.issuer + "api/v2/", "scope": scope, "azp": client, "gty": "client-credentials",
    })


@dataclass
class Account:
    user_id: str
    email: str

    @property
    def short_id(self) -> str:
        return self.user_id.split("|", 1)[1]


class Env:
    def __init__(self, gateway):
        self.gateway = gateway
        self.tenant = gateway.tenant
        self.admin = admin_token(self.tenant)
        app = self.tenant.init["app"]
        self.auth = GetToken(f"127.0.0.1:{gateway.port}", app["client_id"], client_secret=app["client_secret"], protocol="http")

    def call(self, method: str, path: str, token: str | None, body: dict | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.gateway.request(method, path, headers=headers, json=body)

    def user(self, prefix: str = "link") -> Account:
        email = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
        r = self.call("POST", "/api/v2/users", self.admin, {"connection": CONNECTION, "email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        return Account(r.json()["user_id"], email)

    def login(self, account: Account, scope: str = USER_SCOPE, audience: str | None = "api") -> dict:
        aud = self.tenant.issuer + "api/v2/" if audience == "api" else audience
        return self.auth.login(account.email, PASSWORD, realm=CONNECTION, scope=scope, audience=aud)

    def sub_of(self, account: Account) -> str:
        token = self.login(account)["access_token"]
        return pyjwt.decode(token, options={"verify_signature": False})["sub"]

    def get_user(self, account: Account) -> dict:
        r = self.call("GET", f"/api/v2/users/{quote(account.user_id, safe='')}", self.admin)
        assert r.status_code == 200, r.text
        return r.json()

    def link_path(self, primary: Account) -> str:
        return f"/api/v2/users/{quote(primary.user_id, safe='')}/identities"

    def unlink_path(self, primary: Account, secondary: Account) -> str:
        return f"{self.link_path(primary)}/auth0/{secondary.short_id}"

    def sdk(self, token: str) -> Auth0:
        return Auth0(base_url=f"http://127.0.0.1:{self.gateway.port}/api/v2", token=token, max_retries=0)


@pytest.fixture(scope="module")
def env(gateway) -> Env:
    return Env(gateway)


def hs256_id_token(claims: dict, secret: str) -> str:
    """A legacy (pre-OIDC-conformant) ID token, HS256-signed with the client secret."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def identity_ids(identities) -> list[str]:
    return [f"{i['provider']}|{i['user_id']}" for i in identities]


# --- seed 002's table: one row per use case ---------------------------------------------------------------------


def row_post_with_primary_id_token(env):
    """POST …/identities with the primary account's ID token in the Authorization header."""
    primary, secondary = env.user(), env.user()
    primary_id_token = env.login(primary, scope="openid", audience=None)["id_token"]
    secondary_id_token = env.login(secondary, scope="openid", audience=None)["id_token"]
    return env.call("POST", env.link_path(primary), primary_id_token, {"link_with": secondary_id_token}), primary, secondary


def row_post_update_users_with_user_id(env):
    """POST …/identities with an access token (update:users) and the secondary's user_id in the payload."""
    primary, secondary = env.user(), env.user()
    r = env.call("POST", env.link_path(primary), admin_token(env.tenant, "update:users"),
                 {"provider": "auth0", "user_id": secondary.short_id})
    return r, primary, secondary


def row_post_current_user_identities_with_user_id(env):
    """POST …/identities with an access token (update:current_user_identities) and the secondary's user_id."""
    primary, secondary = env.user(), env.user()
    token = env.login(primary)["access_token"]
    r = env.call("POST", env.link_path(primary), token, {"provider": "auth0", "user_id": secondary.short_id})
    return r, primary, secondary


def row_post_access_token_with_secondary_id_token(env):
    """POST …/identities with an access token and the secondary account's ID token in the payload (link_with)."""
    primary, secondary = env.user(), env.user()
    token = env.login(primary)["access_token"]
    link_with = env.login(secondary, scope="openid", audience=None)["id_token"]
    return env.call("POST", env.link_path(primary), token, {"link_with": link_with}), primary, secondary


def row_auth0js_with_primary_id_token(env):
    """auth0.js: `new auth0.Management({token: primaryIdToken}).linkUser(id, secondaryToken)` (POST {link_with})."""
    return row_post_with_primary_id_token(env)


def row_auth0js_with_update_users_access_token(env):
    """auth0.js: auth0.Management instantiated with an access token holding update:users; linkUser sends link_with."""
    primary, secondary = env.user(), env.user()
    link_with = env.login(secondary, scope="openid", audience=None)["id_token"]
    app_token = admin_token(env.tenant, "update:users", azp=env.tenant.client_id)
    r = env.call("POST", env.link_path(primary), app_token, {"link_with": link_with})
    return r, primary, secondary


def row_auth0js_with_current_user_identities_access_token(env):
    """auth0.js: auth0.Management with an update:current_user_identities access token and linkUser's secondary
    token obtained the pre-migration way (a legacy HS256 ID token). Affected: the secondary's ID token must be RS256
    and its aud the access token's azp (done that way, it is the "new use case" row and works)."""
    primary, secondary = env.user(), env.user()
    token = env.login(primary)["access_token"]
    now = int(time.time())
    legacy = hs256_id_token(
        {"iss": env.tenant.issuer, "sub": secondary.user_id, "aud": env.tenant.client_id, "iat": now, "exp": now + 600},
        env.tenant.init["app"]["client_secret"],
    )
    return env.call("POST", env.link_path(primary), token, {"link_with": legacy}), primary, secondary


def linked_pair(env) -> tuple[Account, Account]:
    primary, secondary = env.user(), env.user()
    r = env.call("POST", env.link_path(primary), env.admin, {"provider": "auth0", "user_id": secondary.short_id})
    assert r.status_code == 201, r.text
    return primary, secondary


def row_delete_with_primary_id_token(env):
    """DELETE …/identities/{provider}/{user_id} with the primary account's ID token in the Authorization header."""
    primary, secondary = linked_pair(env)
    id_token = env.login(primary, scope="openid", audience=None)["id_token"]
    return env.call("DELETE", env.unlink_path(primary, secondary), id_token), primary, secondary


def row_delete_with_access_token(env):
    """DELETE …/identities/{provider}/{user_id} with an access token in the Authorization header."""
    primary, secondary = linked_pair(env)
    token = env.login(primary)["access_token"]  # update:current_user_identities on oneself
    return env.call("DELETE", env.unlink_path(primary, secondary), token), primary, secondary


SEED_002_TABLE = [
    # (use case, seed 002 status, call, expected status, expected message fragment)
    ("POST + primary's ID token in Authorization", "Affected", row_post_with_primary_id_token, 401, "Invalid token"),
    ("POST + access token (update:users) + secondary user_id", "Not affected", row_post_update_users_with_user_id, 201, None),
    ("POST + access token (update:current_user_identities) + secondary user_id", "Affected",
     row_post_current_user_identities_with_user_id, 403, SEED_001_RULE),
    ("POST + access token + secondary's ID token (link_with)", "New use case", row_post_access_token_with_secondary_id_token, 201, None),
    ("auth0.js Management + primary's ID token", "Affected", row_auth0js_with_primary_id_token, 401, "Invalid token"),
    ("auth0.js Management + access token (update:users)", "Not affected", row_auth0js_with_update_users_access_token, 201, None),
    ("auth0.js Management + access token (update:current_user_identities), legacy secondary token", "Affected",
     row_auth0js_with_current_user_identities_access_token, 400, "RS256"),
    ("DELETE + primary's ID token in Authorization", "Affected", row_delete_with_primary_id_token, 401, "Invalid token"),
    ("DELETE + access token", "Not affected", row_delete_with_access_token, 200, None),
]


@pytest.mark.parametrize("use_case,status,call,expected,fragment", SEED_002_TABLE, ids=[row[0] for row in SEED_002_TABLE])
def test_seed_002_use_case(env, use_case, status, call, expected, fragment):
    r, primary, secondary = call(env)
    assert r.status_code == expected, (use_case, status, r.text)
    body = r.json()
    if expected >= 400:
        assert set(body) >= {"statusCode", "error", "message", "errorCode"}, body
        assert fragment in body["message"], body
    identities = identity_ids(env.get_user(primary)["identities"])
    is_post = "DELETE" not in use_case
    if status == "Affected":
        # Nothing changed: a rejected link links nothing, a rejected unlink leaves the link in place.
        assert identities == ([primary.user_id] if is_post else [primary.user_id, secondary.user_id])
    else:
        assert identity_ids(body) == identities
        if is_post:
            assert identities == [primary.user_id, secondary.user_id]
            assert env.sub_of(secondary) == primary.user_id
        else:
            assert identities == [primary.user_id]
            assert env.sub_of(secondary) == secondary.user_id


# --- the link_with rules ----------------------------------------------------------------------------------------


def test_link_with_is_verified_fully(env):
    primary, secondary = env.user(), env.user()
    user_token = env.login(primary)["access_token"]
    azp = env.tenant.client_id
    now = int(time.time())
    base = {"iss": env.tenant.issuer, "sub": secondary.user_id, "aud": azp, "iat": now, "exp": now + 600}
    other_issuer = f"http://linking-other-{uuid.uuid4().hex[:6]}.test/"
    init_tenant(env.tenant.store, other_issuer)
    cases = [
        ("aud ≠ azp", sign(env.tenant, {**base, "aud": "another-client"}, typ="JWT"), 401, "must equal the azp"),
        ("an access token", sign(env.tenant, base, typ="at+jwt"), 400, "typ JWT"),
        ("expired", sign(env.tenant, {**base, "iat": now - 7200, "exp": now - 3600}, typ="JWT"), 401, "expired"),
        ("another tenant's key", sign(env.tenant, {**base, "iss": other_issuer}, typ="JWT", issuer=other_issuer), 401,
         "current signing key of this tenant"),
        ("HS256", hs256_id_token(base, env.tenant.init["app"]["client_secret"]), 400, "RS256"),
        ("not a JWT", "not-a-token", 400, "not a JWT"),
    ]
    app_admin = admin_token(env.tenant, "update:users", azp=azp)
    for name, link_with, status, fragment in cases:
        for token in (user_token, app_admin):
            r = env.call("POST", env.link_path(primary), token, {"link_with": link_with})
            assert r.status_code == status and fragment in r.json()["message"], (name, r.text)
            assert r.json()["errorCode"] == "invalid_link_with"
    assert identity_ids(env.get_user(primary)["identities"]) == [primary.user_id]
    good = sign(env.tenant, base, typ="JWT")
    r = env.call("POST", env.link_path(primary), user_token, {"link_with": good})
    assert r.status_code == 201, r.text


def test_user_initiated_rules(env):
    me, other, secondary = env.user(), env.user(), env.user()
    token = env.login(me)["access_token"]
    link_with = env.login(secondary, scope="openid", audience=None)["id_token"]
    # Someone else's account: 403.
    r = env.call("POST", env.link_path(other), token, {"link_with": link_with})
    assert r.status_code == 403 and "token's sub" in r.json()["message"], r.text
    # No link_with: 400.
    r = env.call("POST", env.link_path(me), token, {})
    assert r.status_code == 400 and "link_with" in r.json()["message"], r.text
    # A user's token never carries update:users, even when asked for.
    granted = env.login(me, scope="openid update:users update:current_user_identities")
    assert "update:users" not in granted["scope"].split()
    r = env.call("POST", env.link_path(me), granted["access_token"], {"provider": "auth0", "user_id": secondary.short_id})
    assert r.status_code == 403 and SEED_001_RULE in r.json()["message"], r.text


def test_link_errors(env):
    a, b, c = env.user(), env.user(), env.user()
    # Self-link.
    r = env.call("POST", env.link_path(a), env.admin, {"provider": "auth0", "user_id": a.short_id})
    assert r.status_code == 400 and r.json()["message"] == "Main identity and the new one are the same.", r.text
    # Unknown secondary; unknown primary.
    r = env.call("POST", env.link_path(a), env.admin, {"provider": "auth0", "user_id": "nobody"})
    assert r.status_code == 404 and r.json()["errorCode"] == "inexistent_user", r.text
    r = env.call("POST", env.link_path(Account("auth0|nobody", "")), env.admin, {"provider": "auth0", "user_id": b.short_id})
    assert r.status_code == 404, r.text
    # b becomes a's secondary.
    r = env.call("POST", env.link_path(a), env.admin, {"provider": "auth0", "user_id": b.short_id})
    assert r.status_code == 201, r.text
    # b is already linked elsewhere: 409 (to c) — and linking it again to a: 409.
    for target in (c, a):
        r = env.call("POST", env.link_path(target), env.admin, {"provider": "auth0", "user_id": b.short_id})
        assert r.status_code == 409 and "already linked" in r.json()["message"], r.text
    # b (a secondary) cannot be a primary: 400.
    r = env.call("POST", env.link_path(b), env.admin, {"provider": "auth0", "user_id": c.short_id})
    assert r.status_code == 400 and "itself linked" in r.json()["message"], r.text
    # a (a primary with secondaries) cannot become a secondary: 400.
    r = env.call("POST", env.link_path(c), env.admin, {"provider": "auth0", "user_id": a.short_id})
    assert r.status_code == 400 and "linked accounts of its own" in r.json()["message"], r.text
    # Unknown property, user_id without provider, wrong connection_id.
    r = env.call("POST", env.link_path(c), env.admin, {"user_id": b.short_id, "nope": 1})
    assert r.status_code == 400 and r.json()["errorCode"] == "invalid_body", r.text
    d = env.user()
    r = env.call("POST", env.link_path(c), env.admin, {"user_id": d.short_id})
    assert r.status_code == 400 and "provider" in r.json()["message"], r.text
    r = env.call("POST", env.link_path(c), env.admin, {"provider": "auth0", "user_id": d.short_id, "connection_id": "con_nope"})
    assert r.status_code == 400, r.text
    r = env.call("POST", env.link_path(c), env.admin,
                 {"provider": "auth0", "user_id": d.short_id, "connection_id": env.tenant.init["connection"]["id"]})
    assert r.status_code == 201, r.text
    # Unlink errors: the main identity, an identity the user does not have, someone else's with a user token.
    r = env.call("DELETE", f"{env.link_path(a)}/auth0/{a.short_id}", env.admin)
    assert r.status_code == 400 and r.json()["message"] == "Main identity cannot be removed.", r.text
    r = env.call("DELETE", f"{env.link_path(a)}/auth0/{c.short_id}", env.admin)
    assert r.status_code == 404, r.text
    c_token = env.login(c)["access_token"]
    r = env.call("DELETE", env.unlink_path(a, b), c_token)
    assert r.status_code == 403, r.text
    # Wrong scope at all: 403 insufficient_scope.
    r = env.call("POST", env.link_path(a), admin_token(env.tenant, "read:users"), {"provider": "auth0", "user_id": d.short_id})
    assert r.status_code == 403 and r.json()["errorCode"] == "insufficient_scope", r.text


def test_linked_logins_resolve_to_the_primary_and_unlinking_restores(env):
    primary, secondary = env.user(), env.user()
    before = env.auth.login(secondary.email, PASSWORD, realm=CONNECTION, scope="openid offline_access")
    r = env.call("POST", env.link_path(primary), env.admin, {"provider": "auth0", "user_id": secondary.short_id})
    assert r.status_code == 201, r.text
    identities = r.json()
    assert identities[0] == {"connection": CONNECTION, "user_id": primary.short_id, "provider": "auth0", "isSocial": False}
    assert identities[1]["user_id"] == secondary.short_id and identities[1]["profileData"]["email"] == secondary.email
    shown = env.get_user(primary)
    assert identity_ids(shown["identities"]) == [primary.user_id, secondary.user_id]
    # A password login of the secondary: ID and access token carry the primary's sub.
    tokens = env.auth.login(secondary.email, PASSWORD, realm=CONNECTION, scope="openid", audience=env.tenant.issuer + "api/v2/")
    for t in (tokens["id_token"], tokens["access_token"]):
        assert pyjwt.decode(t, options={"verify_signature": False})["sub"] == primary.user_id
    # A refresh token issued before the link now speaks for the primary as well.
    if "refresh_token" in before:
        refreshed = env.auth.refresh_token(before["refresh_token"])
        assert pyjwt.decode(refreshed["access_token"], options={"verify_signature": False})["sub"] == primary.user_id
    # Unlink: standalone again.
    r = env.call("DELETE", env.unlink_path(primary, secondary), env.admin)
    assert r.status_code == 200 and identity_ids(r.json()) == [primary.user_id], r.text
    assert env.sub_of(secondary) == secondary.user_id
    assert identity_ids(env.get_user(secondary)["identities"]) == [secondary.user_id]
    # Link and unlink were logged (sapi), as was a failure (fapi).
    r = env.call("POST", env.link_path(primary), env.admin, {"provider": "auth0", "user_id": primary.short_id})
    assert r.status_code == 400
    logs = env.call("GET", "/api/v2/logs?per_page=100", admin_token(env.tenant, "read:logs")).json()
    mine = [(e["type"], e["description"]) for e in logs if e.get("user_id") == primary.user_id]
    assert ("sapi", "Link a User Account") in mine and ("sapi", "Unlink a User Account") in mine
    assert ("fapi", "Link a User Account") in mine


# --- auth0-python's Management client ---------------------------------------------------------------------------


def test_sdk_server_side_link_and_unlink(env):
    primary, by_id, by_token = env.user(), env.user(), env.user()
    mgmt = env.sdk(admin_token(env.tenant, "update:users read:users", azp=env.tenant.client_id))
    linked = mgmt.users.identities.link(primary.user_id, provider="auth0", user_id=by_id.short_id)
    assert [i.user_id for i in linked] == [primary.short_id, by_id.short_id]
    link_with = env.login(by_token, scope="openid", audience=None)["id_token"]
    linked = mgmt.users.identities.link(primary.user_id, link_with=link_with)
    assert [i.user_id for i in linked] == [primary.short_id, by_id.short_id, by_token.short_id]
    assert [i.user_id for i in mgmt.users.get(primary.user_id).identities] == [primary.short_id, by_id.short_id, by_token.short_id]
    remaining = mgmt.users.identities.delete(primary.user_id, "auth0", by_id.short_id)
    assert [i.user_id for i in remaining] == [primary.short_id, by_token.short_id]
    with pytest.raises(ApiError) as missing:
        mgmt.users.identities.link(primary.user_id, provider="auth0", user_id="nobody")
    assert missing.value.status_code == 404


def test_sdk_user_initiated_link_and_unlink(env):
    primary, secondary = env.user(), env.user()
    token = env.login(primary)  # password-realm, audience <issuer>api/v2/, scope "openid update:current_user_identities"
    assert token["scope"].split() == ["openid", "update:current_user_identities"]
    mine = env.sdk(token["access_token"])
    link_with = env.login(secondary, scope="openid", audience=None)["id_token"]
    linked = mine.users.identities.link(primary.user_id, link_with=link_with)
    assert [i.user_id for i in linked] == [primary.short_id, secondary.short_id]
    assert env.sub_of(secondary) == primary.user_id
    # The disabled flow, through the SDK: 403 naming the rule.
    third = env.user()
    with pytest.raises(ApiError) as rejected:
        mine.users.identities.link(primary.user_id, provider="auth0", user_id=third.short_id)
    assert rejected.value.status_code == 403 and SEED_001_RULE in json.dumps(rejected.value.body)
    remaining = mine.users.identities.delete(primary.user_id, "auth0", secondary.short_id)
    assert [i.user_id for i in remaining] == [primary.short_id]
    assert env.sub_of(secondary) == secondary.user_id


# --- atomicity --------------------------------------------------------------------------------------------------


def test_concurrent_links_of_one_secondary_one_wins(start_gateway):
    gw = start_gateway("warm", workers=4)
    env = Env(gw)
    for _ in range(5):
        p1, p2, s = env.user(), env.user(), env.user()
        results: dict[str, int] = {}
        barrier = threading.Barrier(2)

        def link(primary: Account) -> None:
            barrier.wait()
            r = env.call("POST", env.link_path(primary), env.admin, {"provider": "auth0", "user_id": s.short_id})
            results[primary.user_id] = r.status_code

        threads = [threading.Thread(target=link, args=(p,)) for p in (p1, p2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [201, 409], results
        winner = p1 if results[p1.user_id] == 201 else p2
        loser = p2 if winner is p1 else p1
        assert identity_ids(env.get_user(winner)["identities"]) == [winner.user_id, s.user_id]
        assert identity_ids(env.get_user(loser)["identities"]) == [loser.user_id]
        assert env.sub_of(s) == winner.user_id
