#!/usr/bin/env bash
# Issue 3: refresh grants (POST /oauth/token, grant_type=refresh_token, scope "openid offline_access", so
# every grant signs two RS256 JWTs: the access token and the ID token, and writes the rotation to SQLite).
#
# 1. Cold (target: <= 2.5x the cold floor, `gangway-cold-floor` as in cold_start.sh; /bin/true for continuity):
#    one refresh grant per process start of `token`, event on stdin, against the floor started the same way (`hyperfine -N`, `sh -c 'exec CMD < event.json > answer.json'`, as in
#    cold_start.sh). Refresh tokens rotate on every use and reuse revokes the family, so every run needs a
#    fresh token: N password-realm logins mint N token families up front, one event file per token, and a
#    per-command hyperfine `--prepare` moves the next unused event into place before each run (warm-up runs
#    included); the same prepare collects the previous answer. Every answer must be 200 with a new token.
# 2. Warm (target): `gangway serve --mode warm --workers 2`, wrk -t2 -c2, each thread/connection following
#    its own refresh-token chain (bench/refresh_grant.lua). Bound = `openssl speed rsa2048` sign/s / 2 (plain
#    `openssl speed` counts CPU time: the one-core, uncontended rate; best of a few rounds). Targets: requests/s
#    >= 0.75x the bound; the token workers' CPU per grant <= 1.5x the CPU of its two signatures (the signing
#    floor, from the same `openssl speed`). Any non-200 fails the bench.
# Env: BENCH_RUNS (default 60), BENCH_WRK_SECONDS (10), BENCH_WORKERS (2), BENCH_TARGET_REFRESH (0.75),
#      BENCH_TARGET_COLD_REFRESH (2.5), BENCH_TARGET_SIGN_FLOOR (1.5), BENCH_SIGN_ROUNDS (3), plus lib.sh's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/refresh_chains.sh"
bench_need hyperfine wrk curl jq openssl ss
bench_build

runs="${BENCH_RUNS:-60}"
warmup=5
secs="${BENCH_WRK_SECONDS:-10}"
workers="${BENCH_WORKERS:-2}"
target="${BENCH_TARGET_REFRESH:-0.75}"
cold_target="${BENCH_TARGET_COLD_REFRESH:-2.5}"
sign_target="${BENCH_TARGET_SIGN_FLOOR:-1.5}"
floor="$BENCH_BIN/gangway-cold-floor"
[[ -x "$floor" ]] || { echo "bench: $floor missing (swift build -c release --product gangway-cold-floor)" >&2; exit 2; }
sign_rounds="${BENCH_SIGN_ROUNDS:-3}"
email="bench@example.com"
password="Bench-refresh-1!"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-refresh.XXXXXX")"
server=""
trap 'bench_stop_server "$server"; rm -rf "$tmp"' EXIT

# A POST /oauth/token event (API Gateway v2) with a JSON body, for host $2.
token_event() {
    jq -n --arg body "$1" --arg host "$2" --arg rid "$3" '{
        version: "2.0", routeKey: "POST /oauth/token", rawPath: "/oauth/token", rawQueryString: "",
        headers: {host: $host, "user-agent": "gangway-bench", accept: "application/json", "content-type": "application/json"},
        requestContext: {domainName: $host, requestId: $rid, stage: "$default", timeEpoch: 1700000000000,
            routeKey: "POST /oauth/token",
            http: {method: "POST", path: "/oauth/token", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "gangway-bench"}},
        body: $body, isBase64Encoded: false}'
}
# The tenant's first-party app from `gangway init --json` ($1), as "client_id client_secret".
median_ms() { jq -r ".results[$2].median * 1000" "$1"; }

# ---------------------------------------------------------------- 1. cold
host=127.0.0.1:3000
timeout 60 "$BENCH_BIN/gangway" init --store "sqlite:$tmp/b.db" --issuer "http://$host/" --json >"$tmp/init.json"
timeout 60 "$BENCH_BIN/gangway" users create --store "sqlite:$tmp/b.db" --email "$email" --password "$password" >/dev/null
export GANGWAY_STORE="sqlite:$tmp/b.db"
read -r cid secret < <(bench_app_credentials "$tmp/init.json")

# N logins (bcrypt, two at a time) -> N refresh-token families -> N refresh events.
n=$((runs + warmup + 5))
token_event "$(bench_login_body "$cid" "$secret")" "$host" bench-login >"$tmp/login.json"
mkdir "$tmp/logins" "$tmp/events"
seq 1 "$n" | timeout 300 xargs -P 2 -I{} sh -c 'exec "$1" < "$2/login.json" > "$2/logins/$3.json" 2>/dev/null' _ "$BENCH_BIN/token" "$tmp" {}
for i in $(seq 1 "$n"); do
    rt="$(jq -r 'select(.statusCode == 200) | .body | fromjson | .refresh_token // empty' "$tmp/logins/$i.json")"
    [[ -n "$rt" ]] || { echo "bench: login $i failed: $(head -c 300 "$tmp/logins/$i.json")" >&2; exit 1; }
    token_event "$(bench_refresh_body "$cid" "$secret" "$rt")" "$host" "bench-refresh-$i" >"$tmp/events/$i.json"
done
echo "cold: minted $n refresh tokens by password-realm login" >&2

# Before each run: keep the previous answer, move the next fresh event into place (fails when none is left).
cat >"$tmp/next.sh" <<'EOF'
#!/bin/sh
set -e
cd "$1"
if [ -e answer.json ]; then cat answer.json >>answers.jsonl; rm -f answer.json; fi
i=$(($(cat counter) + 1))
echo "$i" >counter
mv "events/$i.json" event.json
EOF
chmod +x "$tmp/next.sh"
echo 0 >"$tmp/counter"
cp "$tmp/events/1.json" "$tmp/true-event.json"   # same size of input for the /bin/true side

timeout 600 hyperfine -N --style none --warmup "$warmup" --runs "$runs" --export-json "$tmp/h.json" \
    -n "token refresh" --prepare "$tmp/next.sh $tmp" "sh -c 'exec $BENCH_BIN/token < $tmp/event.json > $tmp/answer.json'" \
    -n floor --prepare "sh -c :" "sh -c 'exec $floor < $tmp/true-event.json > $tmp/true-answer.json'" \
    -n /bin/true --prepare "sh -c :" "sh -c 'exec /bin/true < $tmp/true-event.json > $tmp/true-answer.json'" \
    -n shell --prepare "sh -c :" "sh -c :" >&2
cat "$tmp/answer.json" >>"$tmp/answers.jsonl"
used="$(cat "$tmp/counter")"
ok="$(jq -s '[.[] | select(.statusCode == 200 and ((.body | fromjson | .refresh_token // "") != ""))] | length' "$tmp/answers.jsonl")"
codes="$(jq -s -c 'group_by(.statusCode) | map({(.[0].statusCode | tostring): length}) | add' "$tmp/answers.jsonl")"
[[ "$ok" == "$used" && "$used" -ge "$runs" ]] || { echo "bench: cold refresh answers $codes ($ok of $used runs were 200 with a new token)" >&2; exit 1; }
fn_ms="$(median_ms "$tmp/h.json" 0)"; floor_ms="$(median_ms "$tmp/h.json" 1)"; true_ms="$(median_ms "$tmp/h.json" 2)"
sh_ms="$(median_ms "$tmp/h.json" 3)"
ratio="$(bench_ratio "$fn_ms" "$floor_ms")"; true_ratio="$(bench_ratio "$fn_ms" "$true_ms")"
net="$(bench_net_of_shell "$fn_ms" "$floor_ms" "$sh_ms")"; cold_verdict="$(bench_at_most "$ratio" "$cold_target")"
printf 'cold token refresh grant: median %.2f ms vs floor %.2f ms (both via sh, bare sh %.2f ms) -> %sx (target <= %sx) %s; net of shell %s; /bin/true %.2f ms -> %sx; %s of %s answers 200 %s\n' \
    "$fn_ms" "$floor_ms" "$sh_ms" "$ratio" "$cold_target" "$cold_verdict" "$net" "$true_ms" "$true_ratio" "$ok" "$used" "$codes"
bench_result "cold token refresh grant (200)" "$(printf '%.2f ms' "$fn_ms")" "$(printf '%.2f ms floor' "$floor_ms")" "${ratio}x" "<= ${cold_target}x" "$cold_verdict (net of sh: $net; ${true_ratio}x /bin/true)"
unset GANGWAY_STORE

# ---------------------------------------------------------------- 2. warm
# A tenant whose issuer is the gateway's own address; retry on another port if ours was taken meanwhile.
bench_serve_tenant "$workers"
url="http://$host/oauth/token"

# One login per wrk thread through the gateway, then 10 refreshes along each chain to warm every worker.
bench_token_chains "$tmp/tenant-init.json" "$host" 2 "$tmp/wrk-args"
jq -e '.id_token and .access_token' "$tmp/body" >/dev/null || { echo "bench: refresh grant did not return two tokens" >&2; exit 1; }

# The bound: one core's RS256 sign rate (`openssl speed`, CPU time) / 2 signatures per grant.
signs="$(bench_best_signs "$sign_rounds")"
bound="$(awk -v s="$signs" 'BEGIN { printf "%.1f", s / 2 }')"

# CPU time (utime + stime, clock ticks) of the gateway and of its `token` workers, around the wrk run.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
token_pids="$(pgrep -P "$server" -x token | tr '\n' ' ' || true)"
log_lines_before="$(wc -l <"$tmp/serve.err")"
load="$(bench_load)"
gw0="$(cpu_ticks "$server")"; fn0="$(cpu_ticks $token_pids)"
out="$(timeout $((secs + 30)) wrk -t2 -c2 -d"${secs}s" --timeout 5s -s "$BENCH_DIR/refresh_grant.lua" "$url" -- "$tmp/wrk-args")"
gw1="$(cpu_ticks "$server")"; fn1="$(cpu_ticks $token_pids)"
echo "$out" | grep -v '^WRK' >&2
line="$(grep '^WRK ' <<<"$out")"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
rps="$(get rps)"; n="$(get requests)"; errors="$(get errors)"; non200="$(get non200)"; rotated="$(get rotated)"
lat="$(get latency_mean_ms)"; p99="$(get latency_p99_ms)"; fn="$(get fn_mean_ms)"
if [[ "$errors" != 0 || "$non200" != 0 || "$rotated" != "$n" || "$n" == 0 ]]; then
    echo "bench: FAILED refresh chains: $n requests, $errors socket/status errors, $non200 non-200, $rotated rotated" >&2
    bench_result "warm refresh grants/s (2 conn)" "$rps" "-" "-" ">= ${target}x bound" "FAIL ($non200 non-200)"
    exit 1
fi
# Where the time goes: the function's own `handled` log lines (ms inside the handler) for the wrk run.
handler_ms="$(tail -n +"$((log_lines_before + 1))" "$tmp/serve.err" | grep '"msg":"handled"' | grep '"route":"POST /oauth/token"' \
    | jq -rs 'map(.ms | tonumber) | if length > 0 then (add / length | . * 1000 | round / 1000 | tostring) + " ms over " + (length | tostring) else "n/a" end' 2>/dev/null || echo n/a)"
hz="$(getconf CLK_TCK)"
cpu_fn="$(awk -v d=$((fn1 - fn0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", d * 1000 / hz / n }')"
cpu_gw="$(awk -v d=$((gw1 - gw0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", d * 1000 / hz / n }')"
sign_ms="$(awk -v s="$signs" 'BEGIN { printf "%.2f", 2000 / s }')"
sign_ratio="$(bench_ratio "$cpu_fn" "$sign_ms")"; sign_verdict="$(bench_at_most "$sign_ratio" "$sign_target")"
ratio="$(awk -v a="$rps" -v b="$bound" 'BEGIN { printf "%.3f", a / b }')"
verdict="$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "PASS" : "MISS") }')"

echo "warm refresh grants: $n requests in ${secs}s, $rps req/s (2 connections, $workers workers) vs bound $bound/s (openssl $signs sign/s / 2) -> ${ratio}x (target >= $target) $verdict"
echo "  latency mean $lat ms (p99 $p99 ms); Server-Timing fn;dur mean $fn ms; handler (log ms) mean $handler_ms; load before wrk $load"
echo "  CPU per grant: token workers $cpu_fn ms (two RS256 signatures alone: $sign_ms ms), gateway $cpu_gw ms ($(nproc) cores)"
bench_result "warm refresh grants/s (2 conn)" "$rps" "$bound/s (openssl/2)" "${ratio}x" ">= ${target}x" "$verdict"
bench_result "  refresh latency (2 conn)" "$lat ms" "$fn ms fn;dur" "-" "info" "-"
bench_result "CPU per refresh grant (token workers)" "$cpu_fn ms" "$sign_ms ms 2 signs" "${sign_ratio}x" "<= ${sign_target}x" "$sign_verdict (gateway $cpu_gw ms)"
