#!/usr/bin/env bash
# Issue 13: silent re-authentication through the warm gateway, as auth0-spa-js renews a session: `prompt=none`
# with the session cookie -> a code -> `/oauth/token` (authorization_code + PKCE, a public client), which signs an
# access token and an ID token. One re-authentication is those two requests (bench/silent_reauth.lua).
# The session comes from a real login through the hosted page (curl: /authorize -> /u/login form -> resume).
# Bound = `openssl speed rsa2048` sign/s / 2 (the two signatures; best of a few rounds). Target: re-authentications/s
# >= 0.40x the bound. Any other answer fails the bench.
# Env: BENCH_WRK_SECONDS (10), BENCH_WORKERS (2), BENCH_TARGET_SILENT (0.40), BENCH_SIGN_ROUNDS (3), lib.sh's settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need wrk curl jq openssl ss sha256sum
bench_build

secs="${BENCH_WRK_SECONDS:-10}"
workers="${BENCH_WORKERS:-2}"
target="${BENCH_TARGET_SILENT:-0.40}"
sign_rounds="${BENCH_SIGN_ROUNDS:-3}"
email="bench@example.com"
password="Bench-silent-1!"
callback="http://127.0.0.1:9/callback"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-silent.XXXXXX")"
server=""
cleanup() {
    if [[ -n "$server" ]]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

bench_serve_tenant "$workers"
client_id="$(timeout 60 "$BENCH_BIN/gangway" apps create --store "$store" --tenant "http://$host/" --name bench-spa --public \
    --app-type spa --grant-types authorization_code,refresh_token --callbacks "$callback" | jq -r .client_id)"

# PKCE S256: one verifier for every request (a new one per request would only add client-side work).
verifier="$(head -c 48 /dev/urandom | basenc --base64url | tr -d '=\n')"
challenge="$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=\n')"
authorize="http://$host/authorize?response_type=code&client_id=$client_id&redirect_uri=$(jq -rn --arg u "$callback" '$u|@uri')"
authorize+="&scope=openid&state=s&code_challenge=$challenge&code_challenge_method=S256"

# A real login through the hosted page, with curl's cookie jar as the browser.
jar="$tmp/jar"
login_url="$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$authorize")"
page="$(curl -s -c "$jar" -b "$jar" "$login_url")"
state="$(sed -n 's/.*name="state" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)"
csrf="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)"
resume="$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' --data-urlencode "state=$state" --data-urlencode "csrf=$csrf" \
    --data-urlencode "username=$email" --data-urlencode "password=$password" "http://$host/u/login?state=$state")"
callback_url="$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$resume")"
cookie="$(awk '$6 == "auth0" { print $7 }' "$jar")"
[[ -n "$cookie" && "$callback_url" == "$callback?code="* ]] || { echo "bench: login through the hosted page failed ($callback_url)" >&2; exit 1; }
printf '%s %s %s %s %s %s\n' "$client_id" "$callback" "$verifier" "$challenge" "$cookie" "$host" >"$tmp/args"

# Warm every worker of both functions before measuring.
timeout 60 wrk -t2 -c2 -d2s -s "$BENCH_DIR/silent_reauth.lua" "http://$host" -- "$tmp/args" >/dev/null

signs="$(bench_best_signs "$sign_rounds")"
bound="$(awk -v s="$signs" 'BEGIN { printf "%.1f", s / 2 }')"

# CPU time (utime + stime, clock ticks) of the gateway and of its workers, around the wrk run.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
authorize_pids="$(pgrep -P "$server" -x authorize | tr '\n' ' ' || true)"
token_pids="$(pgrep -P "$server" -x token | tr '\n' ' ' || true)"
load="$(bench_load)"
gw0="$(cpu_ticks "$server")"; az0="$(cpu_ticks $authorize_pids)"; tk0="$(cpu_ticks $token_pids)"
out="$(timeout $((secs + 30)) wrk -t2 -c2 -d"${secs}s" --timeout 5s -s "$BENCH_DIR/silent_reauth.lua" "http://$host" -- "$tmp/args")"
gw1="$(cpu_ticks "$server")"; az1="$(cpu_ticks $authorize_pids)"; tk1="$(cpu_ticks $token_pids)"
echo "$out" | grep -v '^WRK ' >&2
line="$(grep '^WRK ' <<<"$out")"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
rate="$(get reauth_per_s)"; n="$(get reauths)"; bad="$(get bad)"; lat="$(get latency_mean_ms)"
if [[ "$bad" != 0 || "$n" == 0 ]]; then
    echo "bench: FAILED silent re-authentication: $n done, $bad refused: $(grep '^WRK-FIRST-BAD' <<<"$out")" >&2
    bench_result "warm silent re-auth/s (2 conn)" "$rate" "-" "-" ">= ${target}x bound" "FAIL ($bad refused)"
    exit 1
fi
ratio="$(awk -v a="$rate" -v b="$bound" 'BEGIN { printf "%.3f", a / b }')"
verdict="$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "PASS" : "MISS") }')"
echo "warm silent re-authentication: $n in ${secs}s, $rate/s (prompt=none -> code -> token; 2 connections, $workers workers) vs bound $bound/s (openssl $signs sign/s / 2) -> ${ratio}x (target >= $target) $verdict"
hz="$(getconf CLK_TCK)"
per() { awk -v d="$1" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", d * 1000 / hz / n }'; }
echo "  request latency mean $lat ms; load before wrk $load"
echo "  CPU per re-authentication: authorize $(per $((az1 - az0))) ms, token $(per $((tk1 - tk0))) ms (two RS256 signatures alone: $(awk -v s="$signs" 'BEGIN { printf "%.2f", 2000 / s }') ms), gateway $(per $((gw1 - gw0))) ms"
bench_result "warm silent re-auth/s (2 conn)" "$rate" "$bound/s (openssl/2)" "${ratio}x" ">= ${target}x" "$verdict"
