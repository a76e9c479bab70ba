#!/usr/bin/env bash
# Issue 6: refresh-grant throughput on PostgreSQL, through two gateway processes against one.
#
# Refresh grants (POST /oauth/token, grant_type=refresh_token, scope "openid offline_access": two RS256
# signatures and a rotation per grant, bench/refresh_grant.lua following one refresh-token chain per wrk
# connection), all with the same total client concurrency (BENCH_CHAINS chains, default 4):
#   1. SQLite, one gateway       (`gangway serve --mode warm --workers W`, wrk -tC -cC)   -- the baseline store
#   2. PostgreSQL, one gateway   (same, store postgres://…?schema=<fresh>)
#   3. PostgreSQL, two gateways  (two `gangway serve` processes on one schema, W workers each; one tenant
#                                 answering on both ports; two wrk processes at once, C/2 chains each; the
#                                 figure is the sum of their requests over the longer run)
# Target (issue 17): PostgreSQL with one gateway >= 0.9x SQLite's refresh grants/s. With psql at hand it also
# prints the database's transactions per grant (pg_stat_database's commits + rollbacks over the run: every
# statement outside a transaction counts as one). The two-gateway figure is information: on one machine both
# gateways share the same cores, so it shows the cost of sharing one database, not a cluster's capacity.
# Any non-200 fails the bench.
# PostgreSQL: $GANGWAY_BENCH_POSTGRES_URL, else $GANGWAY_TEST_POSTGRES_URL, else scripts/postgres.sh starts a
# throwaway server. Each run uses a fresh schema (dropped at exit when psql is at hand).
# Env: BENCH_WRK_SECONDS (default 10), BENCH_WORKERS (2), BENCH_CHAINS (4, even), plus lib.sh's build settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/refresh_chains.sh"
bench_need wrk curl jq ss
bench_build

secs="${BENCH_WRK_SECONDS:-10}"
workers="${BENCH_WORKERS:-2}"
chains="${BENCH_CHAINS:-4}"
(( chains >= 2 && chains % 2 == 0 )) || { echo "bench: BENCH_CHAINS must be even and >= 2" >&2; exit 2; }
email="bench@example.com"
password="Bench-refresh-1!"

pg="${GANGWAY_BENCH_POSTGRES_URL:-${GANGWAY_TEST_POSTGRES_URL:-}}"
if [[ -z "$pg" ]]; then
    source "$BENCH_ROOT/scripts/postgres.sh" || { echo "bench: no PostgreSQL (set GANGWAY_BENCH_POSTGRES_URL)" >&2; exit 2; }
    pg="$GANGWAY_TEST_POSTGRES_URL"
fi
with_query() { if [[ "$1" == *\?* ]]; then echo "$1&$2"; else echo "$1?$2"; fi; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-pgrefresh.XXXXXX")"
servers=()
schemas=()
stop_servers() {
    local pid
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${servers[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    servers=()
}
cleanup() {
    stop_servers
    if command -v psql >/dev/null; then
        for s in "${schemas[@]}"; do psql -X -q "$pg" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_gateways NAME STORE... : one tenant (issuer = the first gateway's address, the others as domains) in
# STORE (the first one; the rest name the same database for the other gateways), then one `gangway serve` per
# STORE. Sets ports[] and hosts[]; the tenant's app is in $tmp/NAME-init.json. Retries on a port race.
start_gateways() {
    local name="$1"; shift
    local stores=("$@") attempt i ok
    for attempt in 1 2 3; do
        ports=(); hosts=()
        local domains=()
        for i in "${!stores[@]}"; do
            ports+=("$(bench_free_port)")
            hosts+=("127.0.0.1:${ports[$i]}")
            (( i > 0 )) && domains+=(--domain "${hosts[$i]}")
        done
        timeout 60 "$BENCH_BIN/gangway" init --store "${stores[0]}" --issuer "http://${hosts[0]}/" "${domains[@]}" --json >"$tmp/$name-init.json"
        timeout 60 "$BENCH_BIN/gangway" users create --store "${stores[0]}" --tenant "http://${hosts[0]}/" --email "$email" --password "$password" >/dev/null
        for i in "${!stores[@]}"; do
            GANGWAY_LOG_LEVEL="${GANGWAY_LOG_LEVEL:-info}" "$BENCH_BIN/gangway" serve --mode warm --host 127.0.0.1 --port "${ports[$i]}" \
                --workers "$workers" --store "${stores[$i]}" --routes "$BENCH_ROOT/infra/routes.json" \
                --functions-dir "$BENCH_BIN" >"$tmp/$name-$i.out" 2>"$tmp/$name-$i.err" &
            servers+=($!)
        done
        ok=1
        for i in "${!stores[@]}"; do
            for _ in $(seq 1 300); do
                grep -q "gangway listening" "$tmp/$name-$i.out" 2>/dev/null && break
                kill -0 "${servers[$i]}" 2>/dev/null || break
                sleep 0.1
            done
            grep -q "gangway listening" "$tmp/$name-$i.out" || ok=0
        done
        [[ $ok == 1 ]] && return 0
        stop_servers
        # A port was taken: try new ports (a new tenant in the same store; tenants are picked by host).
        [[ $attempt == 3 ]] && { echo "bench: gateway did not start:" >&2; cat "$tmp/$name"-*.err >&2; exit 1; }
    done
}

# CPU ticks (utime + stime) of the given processes and of the PostgreSQL server's processes, if visible.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
family() { local p out="$*"; for p in "$@"; do out="$out $(pgrep -P "$p" | tr '\n' ' ')"; done; echo "$out"; }
pg_pids() { pgrep -x postgres | tr '\n' ' ' || true; }
# Commits + rollbacks in the bench database so far (empty without psql); the SQLite run leaves it unchanged.
pg_transactions() {
    command -v psql >/dev/null || return 0
    psql "${pg%%\?*}" -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()" 2>/dev/null || true
}
hz="$(getconf CLK_TCK)"

# run_wrk LABEL ARGS_FILE... : one wrk per args file (its host, C/len chains each), all at once, for $secs.
# Prints a summary line and sets rps, lat, cpu_gw_ms (gateways + workers) and cpu_db_ms per grant.
run_wrk() {
    local label="$1"; shift
    local files=("$@") per=$((chains / $#)) i f line n=0 bad=0 dur=0 latsum=0 pids
    pids="$(family "${servers[@]}")"
    local pgp; pgp="$(pg_pids)"
    local load; load="$(bench_load)"
    local g0 d0 x0 x1; g0="$(cpu_ticks $pids)"; d0="$(cpu_ticks $pgp)"; x0="$(pg_transactions)"
    local wrks=() host
    for f in "${files[@]}"; do
        host="$(head -1 "$f" | cut -d' ' -f3)"
        timeout $((secs + 30)) wrk -t"$per" -c"$per" -d"${secs}s" --timeout 5s -s "$BENCH_DIR/refresh_grant.lua" "http://$host/oauth/token" -- "$f" >"$f.wrk" &
        wrks+=($!)
    done
    for i in "${wrks[@]}"; do wait "$i" || true; done
    local g1 d1; g1="$(cpu_ticks $pids)"; d1="$(cpu_ticks $pgp)"
    [[ -n "$x0" ]] && { sleep 1.5; x1="$(pg_transactions)"; }  # the server publishes its counters within a second
    for f in "${files[@]}"; do
        grep -v '^WRK' "$f.wrk" >&2 || true
        line="$(grep '^WRK ' "$f.wrk")" || { echo "bench: wrk printed no result for $label" >&2; exit 1; }
        get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
        local r e x rot
        r="$(get requests)"; e="$(get errors)"; x="$(get non200)"; rot="$(get rotated)"
        if [[ "$e" != 0 || "$x" != 0 || "$rot" != "$r" || "$r" == 0 ]]; then
            echo "bench: FAILED $label: $r requests, $e socket/status errors, $x non-200, $rot rotated" >&2
            bench_result "$label refresh grants/s" "FAIL" "-" "-" "info" "FAIL ($x non-200)"
            exit 1
        fi
        n=$((n + r))
        dur="$(awk -v a="$dur" -v b="$(get duration_s)" 'BEGIN { print (b > a ? b : a) }')"
        latsum="$(awk -v a="$latsum" -v r="$r" -v l="$(get latency_mean_ms)" 'BEGIN { print a + r * l }')"
    done
    rps="$(awk -v n="$n" -v d="$dur" 'BEGIN { printf "%.1f", n / d }')"
    lat="$(awk -v s="$latsum" -v n="$n" 'BEGIN { printf "%.2f", s / n }')"
    cpu_gw_ms="$(awk -v d=$((g1 - g0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", d * 1000 / hz / n }')"
    cpu_db_ms="$(awk -v d=$((d1 - d0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", d * 1000 / hz / n }')"
    xact="-"
    [[ -n "$x0" && -n "${x1:-}" ]] && xact="$(awk -v d=$((x1 - x0)) -v n="$n" 'BEGIN { printf "%.2f", d / n }')"
    echo "$label: $n refresh grants in ${dur}s = $rps/s ($chains chains), latency mean $lat ms; CPU per grant: gateways+workers $cpu_gw_ms ms, postgres $cpu_db_ms ms; database transactions per grant $xact; load before $load"
}

# ---------------------------------------------------------------- 1. SQLite, one gateway
start_gateways sqlite "sqlite:$tmp/sqlite.db"
bench_token_chains "$tmp/sqlite-init.json" "${hosts[0]}" "$chains" "$tmp/sqlite.args"
run_wrk "SQLite, 1 gateway" "$tmp/sqlite.args"
sqlite_rps="$rps"; sqlite_lat="$lat"; sqlite_cpu="$cpu_gw_ms"
stop_servers

# ---------------------------------------------------------------- 2. PostgreSQL, one gateway
schema="bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"; schemas+=("$schema")
store="$(with_query "$pg" "schema=$schema")"
start_gateways pg1 "$(with_query "$store" application_name=gangway_bench_a)"
bench_token_chains "$tmp/pg1-init.json" "${hosts[0]}" "$chains" "$tmp/pg1.args"
run_wrk "PostgreSQL, 1 gateway" "$tmp/pg1.args"
pg1_rps="$rps"; pg1_lat="$lat"; pg1_cpu="$cpu_gw_ms"; pg1_db="$cpu_db_ms"; pg1_xact="$xact"
stop_servers

# ---------------------------------------------------------------- 3. PostgreSQL, two gateways on one schema
schema="bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"; schemas+=("$schema")
store="$(with_query "$pg" "schema=$schema")"
start_gateways pg2 "$(with_query "$store" application_name=gangway_bench_a)" "$(with_query "$store" application_name=gangway_bench_b)"
bench_token_chains "$tmp/pg2-init.json" "${hosts[0]}" $((chains / 2)) "$tmp/pg2a.args"
bench_token_chains "$tmp/pg2-init.json" "${hosts[1]}" $((chains / 2)) "$tmp/pg2b.args"
run_wrk "PostgreSQL, 2 gateways" "$tmp/pg2a.args" "$tmp/pg2b.args"
pg2_rps="$rps"; pg2_lat="$lat"; pg2_cpu="$cpu_gw_ms"; pg2_db="$cpu_db_ms"
stop_servers

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo "refresh grants/s, $chains chains, $workers workers per gateway, $(nproc) cores: SQLite 1 gateway $sqlite_rps; PostgreSQL 1 gateway $pg1_rps ($(ratio "$pg1_rps" "$sqlite_rps") of SQLite); PostgreSQL 2 gateways $pg2_rps ($(ratio "$pg2_rps" "$pg1_rps") of 1 gateway)"
bench_result "pg refresh grants/s, 2 gateways" "$pg2_rps" "$pg1_rps (1 gateway)" "$(ratio "$pg2_rps" "$pg1_rps")" "info" "-"
pg_verdict="$(awk -v a="$pg1_rps" -v b="$sqlite_rps" 'BEGIN { print (a / b >= 0.9 ? "PASS" : "MISS") }')"
bench_result "pg refresh grants/s, 1 gateway" "$pg1_rps" "$sqlite_rps (SQLite)" "$(ratio "$pg1_rps" "$sqlite_rps")" ">= 0.9x" "$pg_verdict ($pg1_xact transactions/grant)"
bench_result "  pg refresh latency (2 gw / 1 gw)" "$pg2_lat ms" "$pg1_lat ms" "-" "info" "SQLite $sqlite_lat ms"
bench_result "  CPU per grant, gateways+workers" "$pg2_cpu ms (2 gw)" "$pg1_cpu ms (1 gw)" "-" "info" "SQLite $sqlite_cpu ms"
bench_result "  CPU per grant, postgres server" "$pg2_db ms (2 gw)" "$pg1_db ms (1 gw)" "-" "info" "-"
