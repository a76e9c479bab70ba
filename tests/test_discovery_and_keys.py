"""Discovery, JWKS and RS256 tokens, checked with clients Gangway did not write:
joserfc, PyJWT and auth0-python (the verifier Auth0's own Python SDK uses for ID tokens)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

import jwt as pyjwt
import pytest
import requests
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier
from auth0.authentication.exceptions import TokenValidationError
from cryptography.hazmat.primitives import serialization
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet, RSAKey

from conftest import ROUTES, init_tenant, process_name, processes_with_store


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj: dict) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def unb64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def split(token: str) -> tuple[dict, dict, str]:
    h, p, s = token.split(".")
    return json.loads(unb64url(h)), json.loads(unb64url(p)), s


def valid_claims(tenant, **extra) -> dict:
    now = int(time.time())
    return {"iss": tenant.issuer, "sub": "auth0|attacker", "aud": tenant.client_id, "iat": now, "exp": now + 600, **extra}


def current_kid(gw) -> str:
    return gw.jwks()["keys"][0]["kid"]


# --------------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------------


def test_discovery_document(any_gateway):
    gw = any_gateway
    r = gw.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["issuer"] == f"http://127.0.0.1:{gw.port}/"
    assert doc["issuer"].endswith("/")
    assert doc["jwks_uri"] == gw.base + ".well-known/jwks.json"
    for name in ("token_endpoint", "userinfo_endpoint", "authorization_endpoint"):
        assert doc[name].startswith(gw.base), (name, doc[name])
    assert doc["token_endpoint"] == gw.base + "oauth/token"
    assert doc["userinfo_endpoint"] == gw.base + "userinfo"
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    # Every client authentication an application can be configured with (token_endpoint_auth_method) is advertised,
    # and the advertised revocation endpoint answers.
    assert sorted(doc["token_endpoint_auth_methods_supported"]) == ["client_secret_basic", "client_secret_post", "none"]
    assert doc["revocation_endpoint"] == gw.base + "oauth/revoke"
    revoke = requests.post(doc["revocation_endpoint"], json={"client_id": "nobody", "token": "x"}, timeout=10)
    assert revoke.status_code == 401 and revoke.json()["error"] == "invalid_client"
    # The advertised jwks_uri serves the JWKS.
    jwks = requests.get(doc["jwks_uri"], timeout=10)
    assert jwks.status_code == 200
    assert jwks.json() == gw.jwks()


def test_localhost_alias_serves_same_tenant(any_gateway):
    gw = any_gateway
    via_alias = gw.get("/.well-known/openid-configuration", host=f"localhost:{gw.port}")
    assert via_alias.status_code == 200, via_alias.text
    assert via_alias.json()["issuer"] == gw.tenant.issuer
    assert gw.jwks(host=f"localhost:{gw.port}") == gw.jwks()


# --------------------------------------------------------------------------------------------------
# JWKS
# --------------------------------------------------------------------------------------------------


def test_jwks_shape_and_joserfc_import(any_gateway):
    jwks = any_gateway.jwks()
    assert set(jwks) == {"keys"}
    assert len(jwks["keys"]) >= 1
    kids = set()
    for key in jwks["keys"]:
        assert key["kty"] == "RSA"
        assert key["use"] == "sig"
        assert key["alg"] == "RS256"
        assert key["e"] == "AQAB"
        assert isinstance(key["kid"], str) and key["kid"]
        kids.add(key["kid"])
        n = unb64url(key["n"])
        assert len(n) * 8 >= 2048 and n[0] != 0, "n must be a minimal big-endian modulus of >= 2048 bits"
        assert "=" not in key["n"]
        # Never any private part.
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert len(kids) == len(jwks["keys"]), "kids must be unique"
    keyset = KeySet.import_key_set(jwks)
    assert len(keyset.keys) == len(jwks["keys"])
    for key in keyset.keys:
        assert isinstance(key, RSAKey)
        assert not key.is_private


# --------------------------------------------------------------------------------------------------
# Tokens we sign, verified by outside libraries
# --------------------------------------------------------------------------------------------------


def test_signed_token_verifies_with_joserfc_and_pyjwt(gateway, tenant):
    claims_in = {"sub": "user-123", "aud": "api://x", "scope": "read:a write:b", "nested": {"k": [1, "two", None]},
                 "unicode": "héllo ✓"}
    token = tenant.sign(claims_in)
    header, _, _ = split(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == current_kid(gateway)

    # joserfc: pick the key by kid from the served JWKS.
    keyset = KeySet.import_key_set(gateway.jwks())
    decoded = jose_jwt.decode(token, keyset, algorithms=["RS256"])
    assert decoded.header["kid"] == header["kid"]
    claims = decoded.claims
    for k, v in claims_in.items():
        assert claims[k] == v
    assert claims["iss"] == tenant.issuer
    assert type(claims["exp"]) is int and type(claims["iat"]) is int
    assert 3500 <= claims["exp"] - claims["iat"] <= 3700
    assert abs(claims["iat"] - time.time()) < 120

    # PyJWT with its JWKS client fetching the gateway.
    client = pyjwt.PyJWKClient(gateway.jwks_url)
    signing_key = client.get_signing_key_from_jwt(token)
    assert signing_key.key_id == header["kid"]
    payload = pyjwt.decode(token, signing_key.key, algorithms=["RS256"], audience="api://x", issuer=tenant.issuer)
    for k, v in claims_in.items():
        assert payload[k] == v
    assert type(payload["exp"]) is int and type(payload["iat"]) is int

    # And our own verifier agrees.
    ours = tenant.verify(token, audience="api://x")
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout)["nested"] == {"k": [1, "two", None]}


def test_lifetime_option(tenant):
    _, claims, _ = split(tenant.sign({"sub": "x"}, lifetime=120))
    assert claims["exp"] - claims["iat"] == 120


def test_auth0_python_accepts_id_token(gateway, tenant):
    nonce = "n-0S6_WzA2Mj"
    token = tenant.sign({"sub": "auth0|abc", "aud": tenant.client_id, "nonce": nonce, "name": "Ada"})
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(gateway.jwks_url),
        issuer=tenant.issuer,
        audience=tenant.client_id,
    )
    payload = verifier.verify(token, nonce=nonce)
    assert payload["sub"] == "auth0|abc"
    assert payload["name"] == "Ada"
    # The same verifier must reject a wrong nonce and a wrong audience: it really checks.
    with pytest.raises(TokenValidationError):
        verifier.verify(token, nonce="other")
    other = tenant.sign({"sub": "auth0|abc", "aud": "someone-else", "nonce": nonce})
    with pytest.raises(TokenValidationError):
        verifier.verify(other, nonce=nonce)


# --------------------------------------------------------------------------------------------------
# Forgeries built by outside libraries, rejected by `gangway jwt verify` with the right code
# --------------------------------------------------------------------------------------------------


def assert_rejected(tenant, token, code, audience=None):
    result = tenant.verify(token, audience=audience)
    assert result.returncode == 1, f"accepted a forgery: {result.stdout}"
    assert result.error_code == code, result.stderr
    assert result.stdout.strip() == ""


def test_good_token_control(tenant):
    result = tenant.verify(tenant.sign(valid_claims(tenant)), audience=tenant.client_id)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["aud"] == tenant.client_id


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_alg_none_by_hand(gateway, tenant, alg):
    header = {"alg": alg, "typ": "JWT", "kid": current_kid(gateway)}
    token = f"{b64url_json(header)}.{b64url_json(valid_claims(tenant))}."
    assert_rejected(tenant, token, "unsupportedAlgorithm")


def test_alg_none_pyjwt(gateway, tenant):
    token = pyjwt.encode(valid_claims(tenant), None, algorithm="none", headers={"kid": current_kid(gateway)})
    assert split(token)[0]["alg"] == "none"
    assert_rejected(tenant, token, "unsupportedAlgorithm")


def test_alg_none_with_a_real_signature_attached(gateway, tenant):
    """alg none, but carrying the signature of a genuine token: still no."""
    good = tenant.sign(valid_claims(tenant))
    h, p, s = good.split(".")
    header = json.loads(unb64url(h)) | {"alg": "none"}
    assert_rejected(tenant, f"{b64url_json(header)}.{p}.{s}", "unsupportedAlgorithm")


def test_hs256_keyed_with_public_key_pem(gateway, tenant):
    jwk = gateway.jwks()["keys"][0]
    public = RSAKey.import_key(jwk)
    pem = public.as_pem(private=False)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    # PyJWT refuses PEM as an HMAC secret, so build the token by hand.
    with pytest.raises(pyjwt.InvalidKeyError):
        pyjwt.encode(valid_claims(tenant), pem, algorithm="HS256")
    for secret in (pem, pem.strip(), public.as_der(private=False)):
        signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': jwk['kid']})}.{b64url_json(valid_claims(tenant))}"
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_rejected(tenant, f"{signing_input}.{b64url(sig)}", "unsupportedAlgorithm")


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES256", "rs256"])
def test_other_algorithms_rejected(gateway, tenant, alg):
    good = tenant.sign(valid_claims(tenant))
    h, p, s = good.split(".")
    header = json.loads(unb64url(h)) | {"alg": alg}
    assert_rejected(tenant, f"{b64url_json(header)}.{p}.{s}", "unsupportedAlgorithm")


def test_tampered_payload(tenant):
    good = tenant.sign(valid_claims(tenant, sub="user-1"))
    assert tenant.verify(good).returncode == 0
    h, p, s = good.split(".")
    claims = json.loads(unb64url(p))
    claims["sub"] = "admin"
    assert_rejected(tenant, f"{h}.{b64url_json(claims)}.{s}", "badSignature")
    # A tampered header (same kid) breaks the signature too.
    header = json.loads(unb64url(h)) | {"typ": "at+jwt"}
    assert_rejected(tenant, f"{b64url_json(header)}.{p}.{s}", "badSignature")
    # And a flipped bit in the signature.
    sig = bytearray(unb64url(s))
    sig[-1] ^= 1
    assert_rejected(tenant, f"{h}.{p}.{b64url(bytes(sig))}", "badSignature")


def test_expired(tenant):
    now = int(time.time())
    token = tenant.sign({"sub": "x", "exp": now - 3600, "iat": now - 7200})
    assert_rejected(tenant, token, "expired")
    # The outside library agrees it is expired (so the claim really is in the past).
    with pytest.raises(pyjwt.ExpiredSignatureError):
        pyjwt.decode(token, options={"verify_signature": False, "verify_exp": True})


def test_not_yet_valid(tenant):
    token = tenant.sign({"sub": "x", "nbf": int(time.time()) + 3600})
    assert_rejected(tenant, token, "notYetValid")


def test_attacker_key_with_our_kid(gateway, tenant):
    attacker = RSAKey.generate_key(2048)
    token = jose_jwt.encode({"alg": "RS256", "kid": current_kid(gateway)}, valid_claims(tenant), attacker)
    # Sanity: the forgery is a well-formed RS256 token that verifies under the attacker's key.
    assert jose_jwt.decode(token, attacker).claims["sub"] == "auth0|attacker"
    assert_rejected(tenant, token, "badSignature")


def test_attacker_key_embedded_as_jwk_header(gateway, tenant):
    attacker = RSAKey.generate_key(2048, parameters={"kid": "attacker-kid"})
    public = attacker.as_dict(private=False)
    token = jose_jwt.encode({"alg": "RS256", "kid": "attacker-kid", "jwk": public}, valid_claims(tenant), attacker)
    assert_rejected(tenant, token, "unknownKey")
    # The embedded key is ignored even when the kid is ours.
    token = jose_jwt.encode({"alg": "RS256", "kid": current_kid(gateway), "jwk": public}, valid_claims(tenant), attacker)
    assert_rejected(tenant, token, "badSignature")


def test_missing_kid(tenant):
    attacker = RSAKey.generate_key(2048)
    token = jose_jwt.encode({"alg": "RS256"}, valid_claims(tenant), attacker)
    assert "kid" not in split(token)[0]
    assert_rejected(tenant, token, "unknownKey")


@pytest.fixture
def attacker_jwks_server():
    """An attacker's JWKS endpoint that counts how often it is fetched."""
    attacker = RSAKey.generate_key(2048, parameters={"kid": "evil"})
    body = json.dumps({"keys": [attacker.as_dict(private=False)]}).encode()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield attacker, f"http://127.0.0.1:{server.server_address[1]}/jwks.json", hits
    server.shutdown()


def test_jku_is_ignored(gateway, tenant, attacker_jwks_server):
    attacker, jku, hits = attacker_jwks_server
    assert requests.get(jku, timeout=5).status_code == 200  # the attacker's server works
    hits.clear()
    token = jose_jwt.encode({"alg": "RS256", "kid": "evil", "jku": jku}, valid_claims(tenant), attacker)
    assert_rejected(tenant, token, "unknownKey")
    token = jose_jwt.encode({"alg": "RS256", "kid": current_kid(gateway), "jku": jku}, valid_claims(tenant), attacker)
    assert_rejected(tenant, token, "badSignature")
    token = jose_jwt.encode({"alg": "RS256", "kid": "evil", "x5u": jku}, valid_claims(tenant), attacker)
    assert_rejected(tenant, token, "unknownKey")
    assert hits == [], "the verifier fetched a key from a URL named in the token"


def test_wrong_audience(tenant):
    token = tenant.sign({"sub": "x", "aud": "https://other.example/api"})
    assert_rejected(tenant, token, "wrongAudience", audience=tenant.client_id)
    assert tenant.verify(token, audience="https://other.example/api").returncode == 0
    # aud as an array: must contain ours.
    token = tenant.sign({"sub": "x", "aud": ["a", "b"]})
    assert_rejected(tenant, token, "wrongAudience", audience=tenant.client_id)
    assert tenant.verify(token, audience="b").returncode == 0
    # No aud at all, but one is required.
    assert_rejected(tenant, tenant.sign({"sub": "x"}), "missingClaim", audience=tenant.client_id)


def test_wrong_issuer(tenant):
    token = tenant.sign({"sub": "x", "iss": "http://evil.example/"})
    assert_rejected(tenant, token, "wrongIssuer")
    # Byte-for-byte: a missing trailing slash is another issuer.
    token = tenant.sign({"sub": "x", "iss": tenant.issuer.rstrip("/")})
    assert_rejected(tenant, token, "wrongIssuer")


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "!!!.???.***", "e30.e30", ".e30.sig"])
def test_malformed(tenant, token):
    result = tenant.verify(token)
    assert result.returncode == 1
    assert result.error_code == "malformed", result.stderr


# --------------------------------------------------------------------------------------------------
# Key rotation (its own gateway and store: it changes the keys)
# --------------------------------------------------------------------------------------------------


def test_rotation_and_retirement(start_gateway):
    gw = start_gateway("warm")
    tenant = gw.tenant
    before = gw.jwks()
    assert len(before["keys"]) == 1
    old_kid = before["keys"][0]["kid"]

    old_token = tenant.sign({"sub": "u1", "aud": tenant.client_id, "nonce": "n1"})
    assert split(old_token)[0]["kid"] == old_kid

    # An auth0-python verifier made (and warmed) before the rotation.
    sv = AsymmetricSignatureVerifier(gw.jwks_url)
    early = TokenVerifier(signature_verifier=sv, issuer=tenant.issuer, audience=tenant.client_id)
    assert early.verify(old_token, nonce="n1")["sub"] == "u1"

    out = tenant.keys("rotate").stdout
    after = gw.jwks()
    kids = [k["kid"] for k in after["keys"]]
    assert len(kids) == 2
    new_kid = kids[0]
    assert new_kid != old_kid and kids[1] == old_kid, "current key first, then the previous one"
    assert new_kid in out
    listing = tenant.keys("list").stdout
    assert f"{new_kid}\tcurrent" in listing and f"{old_kid}\tprevious" in listing

    # The old token still verifies, with joserfc against the new JWKS and with our verifier.
    keyset = KeySet.import_key_set(after)
    assert jose_jwt.decode(old_token, keyset, algorithms=["RS256"]).claims["sub"] == "u1"
    assert tenant.verify(old_token).returncode == 0

    # New tokens use the new key; the verifier built before the rotation refetches on the unknown kid.
    new_token = tenant.sign({"sub": "u2", "aud": tenant.client_id, "nonce": "n2"})
    assert split(new_token)[0]["kid"] == new_kid
    assert early.verify(new_token, nonce="n2")["sub"] == "u2"

    # Retire: the old kid leaves the JWKS and tokens it signed stop verifying.
    assert old_kid in tenant.keys("retire").stdout
    final = gw.jwks()
    assert [k["kid"] for k in final["keys"]] == [new_kid]
    result = tenant.verify(old_token)
    assert result.returncode == 1 and result.error_code == "unknownKey", result.stderr
    with pytest.raises(JoseError):
        jose_jwt.decode(old_token, KeySet.import_key_set(final), algorithms=["RS256"])
    assert tenant.verify(new_token).returncode == 0
    # Retiring again is a no-op; the current key cannot be retired.
    assert "nothing to retire" in tenant.keys("retire").stdout
    assert [k["kid"] for k in gw.jwks()["keys"]] == [new_kid]


# --------------------------------------------------------------------------------------------------
# Tenant isolation
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tenant_b(gateway):
    return init_tenant(gateway.store, f"http://tenant-b.test:{gateway.port}/")


def test_tenant_isolation(gateway, tenant, tenant_b):
    host_b = f"tenant-b.test:{gateway.port}"
    doc_b = gateway.get("/.well-known/openid-configuration", host=host_b)
    assert doc_b.status_code == 200, doc_b.text
    assert doc_b.json()["issuer"] == tenant_b.issuer
    assert doc_b.json()["jwks_uri"] == tenant_b.issuer + ".well-known/jwks.json"

    kids_a = {k["kid"] for k in gateway.jwks()["keys"]}
    kids_b = {k["kid"] for k in gateway.jwks(host=host_b)["keys"]}
    assert kids_a and kids_b and not kids_a & kids_b
    ns_a = {k["n"] for k in gateway.jwks()["keys"]}
    ns_b = {k["n"] for k in gateway.jwks(host=host_b)["keys"]}
    assert not ns_a & ns_b

    token_b = tenant_b.sign({"sub": "x"})
    assert split(token_b)[1]["iss"] == tenant_b.issuer
    assert tenant_b.verify(token_b).returncode == 0
    result = tenant_b.verify(token_b, tenant=tenant.issuer)
    assert result.returncode == 1
    assert result.error_code == "unknownKey", result.stderr
    # Tenant A's key cannot mint tokens tenant A accepts as B's, either.
    token = tenant.sign({"sub": "x", "iss": tenant_b.issuer})
    assert tenant.verify(token).error_code == "wrongIssuer"
    assert tenant_b.verify(token).error_code == "unknownKey"
    # joserfc with B's JWKS refuses A's token.
    with pytest.raises(JoseError):
        jose_jwt.decode(tenant.sign({"sub": "x"}), KeySet.import_key_set(gateway.jwks(host=host_b)), algorithms=["RS256"])


@pytest.mark.parametrize("host", ["unknown.test:1", "tenant-b.test", "127.0.0.2:{port}", "evil.test"])
def test_unknown_host_is_404(any_gateway, host):
    host = host.format(port=any_gateway.port)
    for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration"):
        r = any_gateway.get(path, host=host)
        assert r.status_code == 404, (host, r.status_code, r.text)
        body = r.json()
        assert isinstance(body.get("error"), str) and body["error"]
        assert "keys" not in body and "issuer" not in body


# --------------------------------------------------------------------------------------------------
# The gateway contract, through the gateway
# --------------------------------------------------------------------------------------------------


def test_unknown_route_is_404_json(any_gateway):
    r = any_gateway.get("/no/such/route")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["error"], str)
    assert r.headers.get("apigw-requestid")
    assert r.headers.get("cache-control")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405(any_gateway, method):
    r = any_gateway.request(method, "/.well-known/jwks.json", data="{}")
    assert r.status_code == 405, r.text
    assert isinstance(r.json()["error"], str)
    assert r.headers.get("apigw-requestid")
    assert r.headers.get("cache-control")
    assert r.headers.get("allow") == "GET", r.headers  # RFC 9110 §15.5.6


def test_every_405_names_the_methods_its_path_answers_in_allow(gateway):
    """One path per route shape of infra/routes.json; `Allow` lists exactly the methods routes.json gives its most specific path."""
    table = json.loads(ROUTES.read_text())
    methods: dict[str, list[str]] = {}
    for route in table["routes"]:
        methods.setdefault(route["path"], []).append(route["method"])
    def matches(pattern: str, concrete: str) -> bool:
        a, b = pattern.strip("/").split("/"), concrete.strip("/").split("/")
        return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b))

    for path in methods:
        concrete = path.replace("{id}", "x").replace("{provider}", "auth0").replace("{user_id}", "y")
        # A literal path may also match a parameterised one (`/api/v2/jobs/users-imports` is a `/api/v2/jobs/{id}`).
        # API Gateway routes a request to the most specific path (fewest parameters), so `Allow` names that
        # path's methods only: GET /api/v2/jobs/users-imports reaches `{id}`, but only POST is an import.
        candidates = [route for route in table["routes"] if matches(route["path"], concrete)]
        fewest = min(route["path"].count("{") for route in candidates)
        allowed = list(dict.fromkeys(route["method"] for route in candidates if route["path"].count("{") == fewest))
        r = gateway.request("TRACE", concrete)
        assert r.status_code == 405, (path, r.status_code, r.text)
        assert [m.strip() for m in r.headers["allow"].split(",")] == allowed, (path, r.headers)
        body = r.json()
        if path.startswith("/api/v2/"):
            assert body == {"statusCode": 405, "error": "Method Not Allowed", "errorCode": "method_not_allowed",
                            "message": f"Method TRACE is not allowed on {concrete}."}, body
        else:
            assert body["error"] == "method_not_allowed", body


def test_function_responses_carry_gateway_headers(any_gateway):
    ids = set()
    for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration"):
        for _ in range(2):
            r = any_gateway.get(path)
            assert r.status_code == 200
            assert r.headers.get("cache-control"), r.headers
            assert "max-age" in r.headers["cache-control"] or "no-store" in r.headers["cache-control"]
            rid = r.headers.get("apigw-requestid")
            assert rid
            ids.add(rid)
            timing = r.headers.get("server-timing", "")
            assert timing.startswith("fn;dur="), timing
            float(timing.split("=", 1)[1])
    assert len(ids) == 4, "every request gets its own apigw-requestid"


# --------------------------------------------------------------------------------------------------
# Lifecycle: the gateway stops on SIGTERM and leaves no workers behind
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["cgi", "warm"])
def test_gateway_stops_on_sigterm_without_leftover_workers(start_gateway, mode):
    gw = start_gateway(mode)
    assert gw.get("/.well-known/jwks.json").status_code == 200
    if mode == "warm":
        workers = [p for p in processes_with_store(gw.store) if p != gw.process.pid]
        functions = set(json.loads(ROUTES.read_text())["functions"])
        assert workers and all(process_name(p).rsplit("/", 1)[-1] in functions for p in workers), workers
    gw.stop(timeout=10)
    leftovers = gw.leftover_workers  # still running 5 s after the gateway was gone
    assert gw.stopped_cleanly, (
        f"gangway serve --mode {mode} did not exit within 10 s of SIGTERM (had to SIGKILL); log:\n{gw.log()[-2000:]}"
    )
    assert gw.process.returncode == 0, f"exit status {gw.process.returncode}; log:\n{gw.log()[-2000:]}"
    assert leftovers == []


@pytest.mark.parametrize("mode", ["cgi", "warm"])
def test_crashing_function_is_502_and_gateway_survives(start_gateway, tmp_path, mode):
    """CONTRACT: a function that crashes / exits non-zero (here: before reading its stdin) answers 502 JSON
    with a request id, and does not take the gateway down."""
    fns = tmp_path / "functions"
    fns.mkdir()
    for name in json.loads(ROUTES.read_text())["functions"]:
        fake = fns / name
        fake.write_text("#!/bin/sh\nexit 3\n")
        fake.chmod(0o755)
    gw = start_gateway(mode, functions_dir=fns)
    for _ in range(4):
        try:
            r = gw.get("/.well-known/jwks.json")
        except requests.ConnectionError as e:
            pytest.fail(f"gateway ({mode}) went down after a function crash: {e}\n{gw.log()[-3000:]}")
        assert r.status_code == 502, r.text
        assert isinstance(r.json()["error"], str)
        rid = r.headers.get("apigw-requestid")
        assert rid and rid in r.json()["error_description"]
        time.sleep(0.3)
    assert gw.process.poll() is None, f"gateway ({mode}) exited: {gw.process.returncode}\n{gw.log()[-3000:]}"
