"""Client loop for bench/migrated_login.sh (see there): Python for the fake's control calls, curl (%{time_total},
one process per user, connections reused within it) for every timed request. Prints one JSON object, medians in ms.

argv: gateway_port fake_port upstream_secret init_json N warmup gangway_bench_binary
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

gw_port, fake_port, upstream_secret, init_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
n, warm, gangway_bench = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
init = json.load(open(init_path))
app = init["app"]
REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
REALM = init["connection"]["name"]
DIRECT_UA = "gangway-bench-direct"
TIMEOUT = 15


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(0)


def exchange(conn, method, path, body=None, headers=None):
    """(status, body bytes) of one untimed control request, body read fully."""
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, resp.read()


def fake_conn():
    return http.client.HTTPConnection("127.0.0.1", fake_port, timeout=TIMEOUT)


# Seed the upstream-only users.
users = []
ctl = fake_conn()
for i in range(warm + n):
    tag = f"{i:04d}-{time.time_ns() % 10**9}"
    user = {"email": f"mig-{tag}@example.com", "password": f"Upstream-Pa55-{i}!", "sub": f"auth0|mig{tag.replace('-', '')}",
            "name": f"Mig {i}", "nickname": f"mig-{i}", "email_verified": True}
    status, data, *_ = exchange(ctl, "POST", "/_users", json.dumps(user), {"content-type": "application/json"})
    if status != 200:
        fail(f"seeding the fake: HTTP {status} {data[:200]!r}")
    users.append(user)

def curl(transfers, workdir):
    """One curl process, one connection reused across `transfers` [(method, url, headers, body)]: per transfer
    (status, time_total ms, body bytes, Server-Timing fn;dur or None). time_total runs from the transfer's start
    to its last byte (connect included when the connection is new); curl's process start is not in it."""
    args = ["curl", "-s", "--max-time", str(TIMEOUT), "-A", DIRECT_UA]
    for k, (method, url, headers, body) in enumerate(transfers):
        if k:
            args += ["--next", "-A", DIRECT_UA]
        args += ["-X", method, "-o", f"{workdir}/t{k}", "-w", "%{http_code} %{time_total} %header{server-timing}\\n"]
        for name, value in headers:
            args += ["-H", f"{name}: {value}"]
        if body is not None:
            with open(f"{workdir}/b{k}", "wb") as f:
                f.write(body.encode())
            args += ["--data-binary", f"@{workdir}/b{k}"]
        args.append(url)
    out = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT * len(transfers) + 5).stdout.splitlines()
    results = []
    for k in range(len(transfers)):
        parts = (out[k] if k < len(out) else "000 0").split(" ", 2)
        fn = None
        for part in (parts[2] if len(parts) > 2 else "").split(","):
            name, _, params = part.strip().partition(";")
            if name == "fn" and params.startswith("dur="):
                fn = float(params[4:])
        try:
            with open(f"{workdir}/t{k}", "rb") as f:
                body = f.read()
        except OSError:
            body = b""
        results.append((int(parts[0]), float(parts[1]) * 1000, body, fn))
    return results


gw_base, fake_base = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{fake_port}"
JSON = [("content-type", "application/json")]


def login_body(user):
    return json.dumps({"grant_type": REALM_GRANT, "realm": REALM, "username": user["email"], "password": user["password"],
                       "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "openid profile email"})


def gateway_logins(user):
    """(a) the migrating login and (c) a second, local login, on a connection already open (kept alive)."""
    warmup, first, second = curl([("GET", gw_base + "/.well-known/jwks.json", [], None),
                                  ("POST", gw_base + "/oauth/token", JSON, login_body(user)),
                                  ("POST", gw_base + "/oauth/token", JSON, login_body(user))], workdir)
    for label, (status, _, body, _) in (("first", first), ("second", second)):
        if status != 200 or b"id_token" not in body:
            fail(f"{label} gateway login of {user['email']}: HTTP {status} {body[:300]!r}")
    return first[1], first[3], second[1], second[3]


def upstream_direct(user):
    """(b) the two calls Gangway makes, same requests, straight to the fake on a fresh connection (as Gangway opens
    one per login), then (b') the same two again on that kept-alive connection. /userinfo uses an access token
    fetched beforehand (untimed): the fake does the same work for it."""
    form = urllib.parse.urlencode({"grant_type": REALM_GRANT, "realm": REALM, "username": user["email"], "password": user["password"],
                                   "client_id": "upstream-client", "client_secret": upstream_secret, "scope": "openid profile email"})
    form_headers = [("content-type", "application/x-www-form-urlencoded"), ("auth0-forwarded-for", "127.0.0.1")]
    status, data, *_ = exchange(ctl, "POST", "/oauth/token", form, dict(form_headers + [("user-agent", DIRECT_UA)]))
    if status != 200:
        fail(f"direct upstream token call: HTTP {status} {data[:200]!r}")
    bearer = [("authorization", "Bearer " + json.loads(data)["access_token"])]
    pair = [("POST", fake_base + "/oauth/token", form_headers, form), ("GET", fake_base + "/userinfo", bearer, None)]
    results = curl(pair + pair, workdir)
    for status, _, body, _ in results:
        if status != 200:
            fail(f"direct upstream call: HTTP {status} {body[:200]!r}")
    return results[0][1] + results[1][1], results[2][1] + results[3][1]


workdir = tempfile.mkdtemp(prefix="curl.", dir=os.path.dirname(os.path.abspath(init_path)))
def bcrypt():
    """PasswordHash.make / verify medians (ms) of 3 runs each, from `gangway-bench bcrypt 3` (cost 10)."""
    out = json.loads(subprocess.run([gangway_bench, "bcrypt", "3"], capture_output=True, text=True, timeout=60, check=True).stdout)
    return out["make_ms_median"], out["verify_ms_median"]


series = {"migrated": [], "migrated_fn": [], "upstream": [], "upstream_keepalive": [], "local": [], "local_fn": [],
          "bcrypt_make": [], "bcrypt_verify": []}
for i, user in enumerate(users):
    # Rotate the order, so a drift in load hurts no side more than another.
    steps = {"upstream": lambda: upstream_direct(user), "gateway": lambda: gateway_logins(user), "bcrypt": bcrypt}
    order = list(steps)[i % 3:] + list(steps)[:i % 3]
    got = {name: steps[name]() for name in order}
    up, up_ka = got["upstream"]
    mig, mig_fn, loc, loc_fn = got["gateway"]
    make, verify = got["bcrypt"]
    if i < warm:
        continue
    for key, value in (("migrated", mig), ("migrated_fn", mig_fn), ("upstream", up), ("upstream_keepalive", up_ka),
                       ("local", loc), ("local_fn", loc_fn), ("bcrypt_make", make), ("bcrypt_verify", verify)):
        if value is not None:
            series[key].append(value)

# Exactly one password-realm grant (and one /userinfo) from Gangway per user: the local logins never went upstream.
status, data, *_ = exchange(ctl, "GET", "/_calls")
calls = [c for c in json.loads(data) if c["headers"].get("user-agent") != DIRECT_UA]
token_calls = [c for c in calls if c["path"].startswith("/oauth/token")]
per_user = {}
for c in token_calls:
    per_user[c["body"].get("username")] = per_user.get(c["body"].get("username"), 0) + 1
if len(token_calls) != len(users) or any(per_user.get(u["email"]) != 1 for u in users):
    fail(f"Gangway made {len(token_calls)} upstream token calls for {len(users)} users (one each expected)")
if sum(1 for c in calls if c["path"].startswith("/userinfo")) != len(users):
    fail("Gangway's /userinfo calls do not match the number of users")

out = {"ok": True, "n": n}
for key, values in series.items():
    out[key + "_ms"] = round(statistics.median(values), 3) if len(values) == n else None
if out["migrated_fn_ms"] is None or out["local_fn_ms"] is None:
    fail("answers without Server-Timing fn;dur")
print(json.dumps(out))
