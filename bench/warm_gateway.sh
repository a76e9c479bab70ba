#!/usr/bin/env bash
# Issue 17: the warm gateway adds at most 0.3 ms to a request (it was 1 ms before).
#
# `gangway serve --mode warm` on a free loopback port; wrk, one connection, GET /.well-known/jwks.json.
# Every answer carries `Server-Timing: fn;dur=<ms>`, the time the gateway waited on the function
# (Runtime API hop included); overhead = wrk's mean latency - mean fn;dur.
# Env: BENCH_WRK_SECONDS (default 5), BENCH_TARGET_OVERHEAD_MS (0.3), BENCH_WORKERS (2),
#      plus lib.sh's build settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need wrk curl jq ss
bench_build

secs="${BENCH_WRK_SECONDS:-5}"
target="${BENCH_TARGET_OVERHEAD_MS:-0.3}"
workers="${BENCH_WORKERS:-2}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-warm.XXXXXX")"
server=""
trap 'bench_stop_server "$server"; rm -rf "$tmp"' EXIT

# Start the gateway; retry on another port if someone took ours in between.
for attempt in 1 2 3; do
    port="$(bench_free_port)"
    if bench_serve "sqlite:$tmp/b.db" "$port" "$workers" "$tmp/serve"; then server="$BENCH_SERVER"; break; fi
    [[ $attempt == 3 ]] && { echo "bench: gateway did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1; }
done
url="http://127.0.0.1:$port/.well-known/jwks.json"

# Warm every worker and check the answer is the real thing.
for _ in $(seq 1 20); do
    code="$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 10 "$url" || true)"
    [[ "$code" == 200 ]] && jq -e '.keys | length > 0' "$tmp/body" >/dev/null && continue
    echo "bench: warm-up got HTTP $code: $(head -c 300 "$tmp/body" 2>/dev/null)" >&2; exit 1
done

out="$(timeout $((secs + 30)) wrk -t1 -c1 -d"${secs}s" --timeout 5s -s "$BENCH_DIR/server_timing.lua" "$url")"
echo "$out" | grep -v '^WRK' >&2
line="$(grep '^WRK ' <<<"$out")"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
rps="$(get rps)"; lat="$(get latency_mean_ms)"; fn="$(get fn_mean_ms)"; n="$(get requests)"; nfn="$(get fn_count)"
errors="$(get errors)"; non200="$(get non200)"
[[ "$errors" == 0 && "$non200" == 0 && "$nfn" == "$n" ]] || { echo "bench: $errors errors, $non200 non-200, $nfn/$n with Server-Timing" >&2; exit 1; }
overhead="$(awk -v l="$lat" -v f="$fn" 'BEGIN { printf "%.3f", l - f }')"
verdict="$(awk -v o="$overhead" -v t="$target" 'BEGIN { print (o <= t ? "PASS" : "MISS") }')"

echo "warm gateway: $n requests, $rps req/s, mean latency $lat ms, mean fn;dur $fn ms -> overhead $overhead ms (target <= $target ms) $verdict"
bench_result "warm gateway overhead" "$overhead ms" "$(printf '%.3f ms latency - %.3f ms fn' "$lat" "$fn")" "-" "<= $target ms" "$verdict"
bench_result "  warm requests/s (1 conn)" "$rps" "-" "-" "info" "-"
