#!/usr/bin/env bash
# Target 1: a cold invocation of each function (process start -> response, event on stdin, keys read
# from a SQLite store) costs at most 6x starting /bin/true the same way.
#
# Both sides run as `CMD < event.json` in hyperfine's shell, and hyperfine subtracts the shell's own
# start-up cost from both ("shell correction"), so the ratio compares exec -> exit of the two programs.
# Env: BENCH_RUNS (default 60), BENCH_TARGET_COLD (6), plus lib.sh's build settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need hyperfine jq ldd
bench_build

runs="${BENCH_RUNS:-60}"
target="${BENCH_TARGET_COLD:-6}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-cold.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# A tenant with a signing key, reached through host 127.0.0.1:3000.
timeout 60 "$BENCH_BIN/gangway" init --store "sqlite:$tmp/b.db" --issuer http://127.0.0.1:3000/ >/dev/null
export GANGWAY_STORE="sqlite:$tmp/b.db"

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

    # The event: the function's first GET route, for the tenant's host.
    route="$(jq -r --arg f "$fn" '[.routes[] | select(.function == $f and .method == "GET")][0].path' "$BENCH_ROOT/infra/routes.json")"
    [[ "$route" != null ]] || { echo "bench: $fn has no GET route to measure" >&2; continue; }
    jq -n --arg path "$route" '{
        version: "2.0", routeKey: ("GET " + $path), rawPath: $path, rawQueryString: "",
        headers: {host: "127.0.0.1:3000", "user-agent": "gangway-bench", accept: "application/json"},
        requestContext: {domainName: "127.0.0.1:3000", requestId: "bench-cold-1", stage: "$default",
            timeEpoch: 1700000000000, routeKey: ("GET " + $path),
            http: {method: "GET", path: $path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "gangway-bench"}},
        isBase64Encoded: false}' >"$tmp/event.json"

    # It must really answer 200 from the store, or we would be timing an error path.
    status="$(timeout 10 "$bin" <"$tmp/event.json" 2>/dev/null | jq -r .statusCode)"
    [[ "$status" == 200 ]] || { echo "bench: $fn answered $status, not 200" >&2; exit 1; }

    timeout 300 hyperfine --style none --warmup 5 --runs "$runs" --export-json "$tmp/h.json" \
        -n "$fn" "$bin < $tmp/event.json" \
        -n /bin/true "/bin/true < $tmp/event.json" >&2
    fn_ms="$(median_ms "$tmp/h.json" 0)"
    true_ms="$(median_ms "$tmp/h.json" 1)"
    ratio="$(awk -v a="$fn_ms" -v b="$true_ms" 'BEGIN { printf "%.2f", a / b }')"
    verdict="$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t ? "PASS" : "MISS") }')"
    printf 'cold %s: median %.2f ms vs /bin/true %.2f ms -> %sx (target <= %sx) %s\n' "$fn" "$fn_ms" "$true_ms" "$ratio" "$target" "$verdict"
    bench_result "cold start $fn (median)" "$(printf '%.2f ms' "$fn_ms")" "$(printf '%.2f ms /bin/true' "$true_ms")" "${ratio}x" "<= ${target}x" "$verdict"
done
