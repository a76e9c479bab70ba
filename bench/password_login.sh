#!/usr/bin/env bash
# Issue 17, the signing floor of a password login: a warm token worker's CPU per password-realm login (scope
# "openid offline_access": a bcrypt verify, two RS256 signatures, a refresh token and a log event written) is at
# most 1.5x the CPU of what the login cannot avoid: its two signatures (`openssl speed rsa2048`, CPU time, best of
# BENCH_SIGN_ROUNDS) plus one bcrypt verify at the default cost (`gangway-bench bcrypt`: libxcrypt's own time,
# median). `gangway serve --mode warm --workers 2`, wrk -t2 -c2, the same login on every request; the token
# workers' CPU (utime + stime from /proc) around the wrk run, divided by the logins answered. Any non-200 fails.
# Env: BENCH_WRK_SECONDS (default 10), BENCH_TARGET_LOGIN_FLOOR (1.5), BENCH_SIGN_ROUNDS (3), plus lib.sh's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/refresh_chains.sh"
bench_need wrk curl jq openssl ss
bench_build

secs="${BENCH_WRK_SECONDS:-10}"
target="${BENCH_TARGET_LOGIN_FLOOR:-1.5}"
sign_rounds="${BENCH_SIGN_ROUNDS:-3}"
email="bench@example.com"
password="Bench-login-1!"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-login.XXXXXX")"
server=""
trap 'bench_stop_server "$server"; rm -rf "$tmp"' EXIT

bench_serve_tenant 2
read -r cid secret < <(bench_app_credentials "$tmp/tenant-init.json")
bench_login_body "$cid" "$secret" >"$tmp/login.json"
# Warm both workers (and check the login works).
for _ in $(seq 1 6); do
    code="$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 30 -H 'content-type: application/json' \
        --data-binary @"$tmp/login.json" "http://$host/oauth/token" || true)"
    [[ "$code" == 200 ]] && jq -e '.id_token and .access_token' "$tmp/body" >/dev/null \
        || { echo "bench: login got HTTP $code: $(head -c 300 "$tmp/body")" >&2; exit 1; }
done

cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
token_pids="$(pgrep -P "$server" -x token | tr '\n' ' ' || true)"
fn0="$(cpu_ticks $token_pids)"
out="$(timeout $((secs + 30)) wrk -t2 -c2 -d"${secs}s" --timeout 5s -s "$BENCH_DIR/password_login.lua" "http://$host/oauth/token" -- "$tmp/login.json" "$host")"
fn1="$(cpu_ticks $token_pids)"
line="$(grep '^WRK ' <<<"$out")"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
n="$(get requests)"; non200="$(get non200)"; rps="$(get rps)"
if [[ "$non200" != 0 || "$n" == 0 ]]; then
    echo "bench: FAILED logins: $n requests, $non200 non-200" >&2
    bench_result "CPU per password login (token workers)" "-" "-" "-" "<= ${target}x" "FAIL ($non200 non-200)"
    exit 1
fi

signs="$(bench_best_signs "$sign_rounds")"
bcrypt_ms="$("$BENCH_BIN/gangway-bench" bcrypt 5 | jq -r .verify_ms_median)"
hz="$(getconf CLK_TCK)"
cpu_fn="$(awk -v d=$((fn1 - fn0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", d * 1000 / hz / n }')"
floor_ms="$(awk -v s="$signs" -v b="$bcrypt_ms" 'BEGIN { printf "%.2f", 2000 / s + b }')"
ratio="$(bench_ratio "$cpu_fn" "$floor_ms")"; verdict="$(bench_at_most "$ratio" "$target")"
echo "warm password logins: $n in ${secs}s ($rps/s, 2 connections, 2 workers); token workers' CPU $cpu_fn ms per login vs floor $floor_ms ms (2 signatures at $signs sign/s + bcrypt verify $bcrypt_ms ms) -> ${ratio}x (target <= $target) $verdict"
bench_result "CPU per password login (token workers)" "$cpu_fn ms" "$floor_ms ms 2 signs + bcrypt" "${ratio}x" "<= ${target}x" "$verdict"
