#!/usr/bin/env bash
# Runs every speed target in one go and prints: metric, measured, baseline, ratio, target, PASS/MISS.
# Builds the release binaries once (see lib.sh: GANGWAY_BENCH_BUILD_DIR, GANGWAY_BENCH_SKIP_BUILD).
# Exit status: 0 when every target passes, 1 when one misses, 2 when a bench could not run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need jq
bench_build
export GANGWAY_BENCH_SKIP_BUILD=1

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

load_before="$(bench_load)"
failed=0
for bench in cold_start sign_rate warm_gateway token_refresh password_login postgres_refresh migrated_login silent_reauth; do
    echo "== $bench" >&2
    if ! "$BENCH_DIR/$bench.sh" >"$tmp/$bench.out"; then
        failed=1
        bench_result "$bench" "did not run" "-" "-" "-" "ERROR" >>"$tmp/$bench.out"
    fi
    grep -v '^BENCH ' "$tmp/$bench.out" >&2 || true
done
load_after="$(bench_load)"

{
    echo "metric|measured|baseline|ratio|target|result"
    cat "$tmp"/*.out | sed -n 's/^BENCH //p'
} | column -t -s '|'
echo "machine: $(nproc) cores, load average $load_before (before) / $load_after (after)"

[[ $failed == 0 ]] || exit 2
! cat "$tmp"/*.out | grep '^BENCH ' | grep -qE '\|MISS( |$)'
