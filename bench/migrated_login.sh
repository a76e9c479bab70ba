#!/usr/bin/env bash
# Issue 4: the time a migrated login adds over the upstream's own response time.
# Target: overhead <= the bcrypt cost-10 hash (PasswordHash.make) + 2 ms.
#
# What Gangway does on that path (PasswordLogin.login -> migrate, PasswordFallback.verify): throttle check, user
# lookup (no local hash, so NO bcrypt verify), open the sealed upstream secret (AES-GCM), a fresh UpstreamClient
# (libcurl handle) per login: POST token_endpoint (password-realm, form), GET userinfo on the same connection; then
# ONE bcrypt hash (`PasswordHash.make`, cost 10), create the user (insert-if-absent), reset the throttle, record the
# login, sign the access + ID tokens, log `spm` + `s`.
#
# Setup, all on 127.0.0.1: tests/fake_auth0.py as the upstream, seeded with N + W upstream-only users (distinct
# emails, each migrated exactly once); `gangway serve --mode warm --workers 1` (release build) with a tenant whose
# connection gets import_mode + configuration through PATCH /api/v2/connections/{id} (Management API token from
# client_credentials). W users warm up the path and are not counted.
#
# The client (bench/migrated_login.py) times every request with curl's %{time_total} (start of the transfer to its
# last byte; one curl process per user and side, its connection reused across that process's transfers; the same
# libcurl Gangway's UpstreamClient uses). Python only seeds the fake and checks its call log. Per user, in
# alternating order:
#   (a) gateway: the first (migrating) password-realm login, on a connection already opened by a GET of the JWKS;
#   (c) gateway: right after, a second login of the same user, now local (bcrypt verify, no upstream call);
#   (b) upstream: the same two requests Gangway sends, made directly to the fake on a fresh connection (Gangway
#       opens one per login): POST /oauth/token then GET /userinfo (with a token fetched beforehand, untimed),
#       sum of the two time_totals, connect included; (b') the same two again on that kept-alive connection.
#   bcrypt: `gangway-bench bcrypt 3` (PasswordHash.make / verify, cost 10, 3 runs each, their medians), so the
#       bound's hash time is measured under the same load as the logins; the bound uses the median over users.
# overhead = median(a) - median(b). Server-Timing fn;dur (the gateway's wait on the token function) splits (a) into
# the gateway hop and the function; Gangway's `spm` log entries give its own elapsed_ms for the upstream calls.
# Checks: every (a) and (c) is 200 with an id_token; the fake saw exactly one password-realm grant from Gangway per
# user (so (c) never went upstream).
# Env: BENCH_LOGINS (default 40, >= 30), BENCH_WARMUP_LOGINS (5), BENCH_TARGET_MIGRATION_SLACK_MS (2),
#      plus lib.sh's build settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need curl jq python3 ss
bench_build

n="${BENCH_LOGINS:-40}"
warm="${BENCH_WARMUP_LOGINS:-5}"
slack="${BENCH_TARGET_MIGRATION_SLACK_MS:-2}"
[[ "$n" -ge 30 ]] || { echo "bench: BENCH_LOGINS must be >= 30 (medians)" >&2; exit 2; }
upstream_secret="upstream-secret-$RANDOM$RANDOM"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-migrate.XXXXXX")"
server=""; fake=""
stop() {  # pid: TERM, wait up to 5 s, then KILL
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    [[ -n "$pid" ]] && { wait "$pid" 2>/dev/null || true; }
}
cleanup() {
    exec 3>&- 2>/dev/null || true   # closing its stdin stops the fake
    stop "$server"; server=""
    stop "$fake"; fake=""
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- the fake upstream
mkfifo "$tmp/fake.in"
# tests/fake_auth0.py as is, but with TCP_NODELAY on its sockets: it writes the headers and the body of an answer
# separately, and Nagle + the client's delayed ACK then hold each answer ~20-40 ms, which would make the upstream's
# time mostly the kernel's timer (BENCH_FAKE_NAGLE=1 keeps that behaviour, to see it).
cat >"$tmp/fake.py" <<'EOF'
import sys
sys.dont_write_bytecode = True  # leave tests/ as it is
sys.path.insert(0, sys.argv[1])
import fake_auth0
fake_auth0.Handler.disable_nagle_algorithm = sys.argv[4] != "1"
with fake_auth0.FakeAuth0(sys.argv[2], sys.argv[3]) as fake:
    print(f"PORT {fake.port}", flush=True)
    sys.stdin.read()  # serve until the bench closes our stdin
EOF
python3 "$tmp/fake.py" "$BENCH_ROOT/tests" upstream-client "$upstream_secret" "${BENCH_FAKE_NAGLE:-0}" \
    <"$tmp/fake.in" >"$tmp/fake.out" 2>"$tmp/fake.err" &
fake=$!
exec 3>"$tmp/fake.in"
for _ in $(seq 1 100); do
    grep -q '^PORT ' "$tmp/fake.out" 2>/dev/null && break
    kill -0 "$fake" 2>/dev/null || break
    sleep 0.1
done
fake_port="$(sed -n 's/^PORT //p' "$tmp/fake.out")"
[[ -n "$fake_port" ]] || { echo "bench: the fake upstream did not start:" >&2; cat "$tmp/fake.err" >&2; exit 1; }
upstream="http://127.0.0.1:$fake_port"

# ---------------------------------------------------------------- the gateway
for attempt in 1 2 3; do
    port="$(bench_free_port)"
    host="127.0.0.1:$port"
    store="sqlite:$tmp/g$attempt.db"
    timeout 60 "$BENCH_BIN/gangway" init --store "$store" --issuer "http://$host/" --json >"$tmp/init.json"
    if bench_serve "$store" "$port" 1 "$tmp/serve"; then server="$BENCH_SERVER"; break; fi
    [[ $attempt == 3 ]] && { echo "bench: gateway did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1; }
done
base="http://$host"

# Management API token (client_credentials), then import_mode on the tenant's database connection.
mgmt_body="$(jq -c '{grant_type: "client_credentials", client_id: .management.client_id,
    client_secret: .management.client_secret, audience: .management.audience}' "$tmp/init.json")"
code="$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 10 -H 'content-type: application/json' \
    --data-binary "$mgmt_body" "$base/oauth/token" || true)"
mgmt="$(jq -r '.access_token // empty' "$tmp/body" 2>/dev/null || true)"
[[ "$code" == 200 && -n "$mgmt" ]] || { echo "bench: client_credentials got HTTP $code: $(head -c 300 "$tmp/body")" >&2; exit 1; }
conn_id="$(jq -r .connection.id "$tmp/init.json")"
patch="$(jq -nc --arg u "$upstream" --arg s "$upstream_secret" '{options: {import_mode: true, configuration: {
    token_endpoint: ($u + "/oauth/token"), userinfo_endpoint: ($u + "/userinfo"),
    client_id: "upstream-client", client_secret: $s}}}')"
code="$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 10 -X PATCH -H "authorization: Bearer $mgmt" \
    -H 'content-type: application/json' --data-binary "$patch" "$base/api/v2/connections/$conn_id" || true)"
[[ "$code" == 200 ]] && jq -e '.options.import_mode == true' "$tmp/body" >/dev/null \
    || { echo "bench: PATCH connection got HTTP $code: $(head -c 300 "$tmp/body")" >&2; exit 1; }

# ---------------------------------------------------------------- measure
load_before="$(bench_load)"
timeout 900 python3 "$BENCH_DIR/migrated_login.py" "$port" "$fake_port" "$upstream_secret" "$tmp/init.json" "$n" "$warm" \
    "$BENCH_BIN/gangway-bench" >"$tmp/result.json"
load_after="$(bench_load)"

# Gangway's own view of the upstream calls: `spm` log entries' details.elapsed_ms (whole ms).
timeout 60 "$BENCH_BIN/gangway" store list --store "$store" --prefix t/ --limit 100000 >"$tmp/store.tsv"
spm_ms="$(awk -F'\t' '$1 ~ /\/logs\// { print $3 }' "$tmp/store.tsv" | jq -s 'map(select(.type == "spm") | .details.elapsed_ms)
    | sort | if length == 0 then "n/a" else (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end | tostring) end' -r)"
spm_count="$(awk -F'\t' '$1 ~ /\/logs\// { print $3 }' "$tmp/store.tsv" | jq -s 'map(select(.type == "spm")) | length')"

r() { jq -r "$1" "$tmp/result.json"; }
[[ "$(r .ok)" == true ]] || { echo "bench: FAILED: $(r .error)" >&2; exit 1; }
[[ "$spm_count" == $((n + warm)) ]] || { echo "bench: FAILED: $spm_count spm log entries for $((n + warm)) migrations" >&2; exit 1; }
a="$(r .migrated_ms)"; b="$(r .upstream_ms)"; b_ka="$(r .upstream_keepalive_ms)"; c="$(r .local_ms)"
a_fn="$(r .migrated_fn_ms)"; c_fn="$(r .local_fn_ms)"
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
make="$(r .bcrypt_make_ms)"; verify="$(r .bcrypt_verify_ms)"
overhead="$(calc "$a - $b")"
bound="$(calc "$make + $slack")"
verdict="$(awk -v o="$overhead" -v b="$bound" 'BEGIN { print (o <= b ? "PASS" : "MISS") }')"

echo "migrated login: $n users (+$warm warm-up), medians; client: curl %{time_total}, connections reused within one curl per user"
echo "  (a) first login through the gateway (migrates):   $a ms   (Server-Timing fn;dur $a_fn ms)"
echo "  (b) the upstream's two calls, direct (fresh conn): $b ms   (kept-alive conn: $b_ka ms; Gangway's spm elapsed_ms: $spm_ms)"
echo "  overhead (a) - (b) = $overhead ms; bound = bcrypt make $make ms + $slack ms = $bound ms -> $verdict"
echo "  (c) second login of the same user (local, no upstream call): $c ms (fn;dur $c_fn ms); bcrypt verify $verify ms"
echo "  where the time goes: beyond the bcrypt hash $(calc "$overhead - $make") ms = gateway hop (a - fn;dur) $(calc "$a - $a_fn") ms"
echo "    + in the function, besides upstream (b) and hash: $(calc "$a_fn - $b - $make") ms, of which a local login's non-bcrypt work"
echo "      (c fn;dur - verify: lookup, throttle, login record, two RS256 signatures, logs) is $(calc "$c_fn - $verify") ms"
echo "  machine: $(nproc) cores, load average $load_before (before) / $load_after (after)"
bench_result "migrated login overhead" "$overhead ms" "$(printf '%s ms login - %s ms upstream' "$a" "$b")" "-" "<= $make + $slack ms" "$verdict"
bench_result "  local login (migrated user)" "$c ms" "$verify ms bcrypt verify" "-" "info" "-"
