#!/usr/bin/env bash
# Issue 17: a cold invocation of each function (process start -> response, event on stdin, keys read from a
# SQLite store) costs at most 1.4x the cold floor: `gangway-cold-floor`, a Swift executable built and linked like
# the functions (release, static Swift runtime) that reads the same event and writes a constant answer. So the
# ratio is what a function adds to the least any function can cost on this machine, in the same run.
# `/bin/true` is measured beside it for continuity with the earlier targets (6x, authorize 8x): information.
#
# hyperfine 1.15 has no --input, so every side runs under the same wrapper, `hyperfine -N` starting
# `sh -c 'exec CMD < event.json'`: the ratio is (shell + CMD) / (shell + floor). The net-of-shell ratio,
# (CMD - shell) / (floor - shell) on medians of a bare `sh -c :`, is printed as information only.
# `authorize` answers a real request: a registered public client with PKCE and no session, answered with the 302
# to the login page (a login transaction written).
# Env: BENCH_RUNS (default 60), BENCH_TARGET_COLD (1.4), plus lib.sh's build settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need hyperfine jq ldd
bench_build

runs="${BENCH_RUNS:-60}"
target="${BENCH_TARGET_COLD:-1.4}"
floor="$BENCH_BIN/gangway-cold-floor"
[[ -x "$floor" ]] || { echo "bench: $floor missing (swift build -c release --product gangway-cold-floor)" >&2; exit 2; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-cold.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# A tenant with a signing key, reached through host 127.0.0.1:3000.
timeout 60 "$BENCH_BIN/gangway" init --store "sqlite:$tmp/b.db" --issuer http://127.0.0.1:3000/ >/dev/null
export GANGWAY_STORE="sqlite:$tmp/b.db"
spa="$(timeout 60 "$BENCH_BIN/gangway" apps create --store "sqlite:$tmp/b.db" --tenant http://127.0.0.1:3000/ --name bench-spa --public \
    --app-type spa --grant-types authorization_code --callbacks http://127.0.0.1:9/callback | jq -r .client_id)"
authorize_query="response_type=code&client_id=$spa&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid&state=s"
authorize_query+="&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGlSDv4NZA&code_challenge_method=S256"

median_ms() { jq -r ".results[$2].median * 1000" "$1"; }

for fn in $(bench_functions); do
    bin="$BENCH_BIN/$fn"
    [[ -x "$bin" ]] || { echo "bench: $bin missing" >&2; exit 2; }

    # Release + static stdlib: none of Foundation, ICU or a shared Swift runtime may be linked.
    linked="$(ldd "$bin" | grep -oE 'lib(Foundation[A-Za-z]*|icu[a-z0-9]*|swiftCore)\.so[.0-9]*' | sort -u | tr '\n' ' ' || true)"
    if [[ -z "$linked" ]]; then
        echo "ldd $fn: no libFoundation / libicu / libswiftCore ($(ldd "$bin" | wc -l) shared objects)"
        bench_result "ldd $fn" "clean" "-" "-" "no Foundation/ICU/swiftCore" PASS
    else
        echo "ldd $fn: LINKS $linked"
        bench_result "ldd $fn" "$linked" "-" "-" "no Foundation/ICU/swiftCore" MISS
    fi

    # The event: the function's first GET route (else its first route, with an empty JSON object as the
    # body), path parameters filled in, for the tenant's host. Functions that need a token answer 401/400
    # here: still a full cold start that opens the store and reads the tenant.
    route="$(jq -c --arg f "$fn" '[.routes[] | select(.function == $f)] | (map(select(.method == "GET")) + .)[0]' "$BENCH_ROOT/infra/routes.json")"
    method="$(jq -r .method <<<"$route")"
    query=""
    [[ "$fn" == authorize ]] && query="$authorize_query"
    fn_target="$target"
    path="$(jq -r '.path | gsub("\\{[^}]*\\}"; "bench")' <<<"$route")"
    routekey="$(jq -r '.method + " " + .path' <<<"$route")"
    jq -n --arg method "$method" --arg path "$path" --arg routekey "$routekey" --arg query "$query" '{
        version: "2.0", routeKey: $routekey, rawPath: $path, rawQueryString: $query,
        headers: ({host: "127.0.0.1:3000", "user-agent": "gangway-bench", accept: "application/json"}
            + (if $method == "GET" then {} else {"content-type": "application/json"} end)),
        requestContext: {domainName: "127.0.0.1:3000", requestId: "bench-cold-1", stage: "$default",
            timeEpoch: 1700000000000, routeKey: $routekey,
            http: {method: $method, path: $path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "gangway-bench"}},
        isBase64Encoded: false} + (if $method == "GET" then {} else {body: "{}"} end)' >"$tmp/event.json"

    # It must answer from the store (200 for well-known), not crash, or we would time an error path.
    status="$(timeout 10 "$bin" <"$tmp/event.json" 2>/dev/null | jq -r .statusCode)"
    if [[ "$fn" == well-known && "$status" != 200 ]] || [[ "$fn" == authorize && "$status" != 302 ]] \
        || ! [[ "$status" =~ ^[1-4][0-9][0-9]$ ]]; then
        echo "bench: $fn answered $status to $routekey" >&2; exit 1
    fi
    echo "cold $fn: $routekey -> $status" >&2

    timeout 300 hyperfine -N --style none --warmup 5 --runs "$runs" --export-json "$tmp/h.json" \
        -n "$fn" "sh -c 'exec $bin < $tmp/event.json'" \
        -n floor "sh -c 'exec $floor < $tmp/event.json'" \
        -n /bin/true "sh -c 'exec /bin/true < $tmp/event.json'" \
        -n shell "sh -c :" >&2
    fn_ms="$(median_ms "$tmp/h.json" 0)"
    floor_ms="$(median_ms "$tmp/h.json" 1)"
    true_ms="$(median_ms "$tmp/h.json" 2)"
    sh_ms="$(median_ms "$tmp/h.json" 3)"
    ratio="$(bench_ratio "$fn_ms" "$floor_ms")"; true_ratio="$(bench_ratio "$fn_ms" "$true_ms")"
    net="$(bench_net_of_shell "$fn_ms" "$floor_ms" "$sh_ms")"; verdict="$(bench_at_most "$ratio" "$fn_target")"
    printf 'cold %s: median %.2f ms vs floor %.2f ms (both via sh, bare sh %.2f ms) -> %sx (target <= %sx) %s; net of shell %s; /bin/true %.2f ms -> %sx\n' \
        "$fn" "$fn_ms" "$floor_ms" "$sh_ms" "$ratio" "$fn_target" "$verdict" "$net" "$true_ms" "$true_ratio"
    bench_result "cold start $fn ($status)" "$(printf '%.2f ms' "$fn_ms")" "$(printf '%.2f ms floor' "$floor_ms")" "${ratio}x" "<= ${fn_target}x" "$verdict (net of sh: $net; ${true_ratio}x /bin/true)"
done
