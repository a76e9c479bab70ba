# Shared helpers for the bench scripts (sourced, not run).
# GANGWAY_BENCH_BUILD_DIR: SwiftPM scratch dir holding the release build (default: <repo>/.build).
# GANGWAY_BENCH_SKIP_BUILD=1: use the binaries already in $GANGWAY_BENCH_BUILD_DIR/release as they are.

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$BENCH_ROOT/bench"
BENCH_BUILD_DIR="${GANGWAY_BENCH_BUILD_DIR:-$BENCH_ROOT/.build}"
BENCH_BIN="$BENCH_BUILD_DIR/release"
# One secret key for every tenant the benches make and every function they run (signing keys are sealed with it).
export GANGWAY_SECRET_KEY="${GANGWAY_SECRET_KEY:-$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=\n')}"

bench_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "bench: '$tool' is required (apt-get install $tool)" >&2; exit 2; }
    done
}

# Builds the release binaries once (static Swift stdlib, as shipped) unless told not to.
bench_build() {
    if [[ "${GANGWAY_BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        echo "bench: swift build -c release --scratch-path $BENCH_BUILD_DIR" >&2
        (cd "$BENCH_ROOT" && swift build -c release --scratch-path "$BENCH_BUILD_DIR" >&2)
    fi
    [[ -x "$BENCH_BIN/gangway" ]] || { echo "bench: no release build in $BENCH_BIN" >&2; exit 2; }
}

# The function names in infra/routes.json.
# Functions with an HTTP route (jobs-worker has none: a schedule invokes it), in name order.
bench_functions() { jq -r '[.routes[].function] | unique[]' "$BENCH_ROOT/infra/routes.json"; }

# One result line for run.sh: BENCH name|measured|baseline|ratio|target|verdict
bench_result() { printf 'BENCH %s|%s|%s|%s|%s|%s\n' "$@"; }

# Prints a free loopback TCP port (not bound at the moment of asking).
bench_free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" | grep -q .; then echo "$port"; return; fi
    done
    echo "bench: no free port found" >&2; exit 2
}

# Starts `gangway serve --mode warm` in the background and waits up to 30 s for it to listen.
# Usage: bench_serve STORE PORT WORKERS OUT_PREFIX; sets BENCH_SERVER to its pid. Returns 1 (server reaped,
# BENCH_SERVER empty) if it did not come up, e.g. because the port was taken meanwhile.
bench_serve() {
    local store="$1" port="$2" workers="$3" out="$4"
    GANGWAY_LOG_LEVEL="${GANGWAY_LOG_LEVEL:-info}" "$BENCH_BIN/gangway" serve --mode warm --host 127.0.0.1 --port "$port" \
        --workers "$workers" --store "$store" --routes "$BENCH_ROOT/infra/routes.json" \
        --functions-dir "$BENCH_BIN" >"$out.out" 2>"$out.err" &
    BENCH_SERVER=$!
    for _ in $(seq 1 300); do
        grep -q "gangway listening" "$out.out" 2>/dev/null && return 0
        kill -0 "$BENCH_SERVER" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "gangway listening" "$out.out" && return 0
    kill -TERM "$BENCH_SERVER" 2>/dev/null || true
    wait "$BENCH_SERVER" 2>/dev/null || true
    BENCH_SERVER=""
    return 1
}

# Load average, so each table says how busy the machine was.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# One core's RS256 sign rate: `openssl speed rsa2048` (CPU time unless -elapsed is passed) over
# $BENCH_SIGN_SECONDS (2) seconds, sign/s: the column named sign/s in the header, on the "rsa 2048 bits" line
# (works for 3.0's "sign verify sign/s verify/s" and later layouts with more columns).
bench_openssl_signs() {
    local seconds="${BENCH_SIGN_SECONDS:-2}"
    timeout $((seconds * 4 + 30)) openssl speed -seconds "$seconds" "$@" rsa2048 2>/dev/null | awk '
        /sign\/s/ && !col { for (i = 1; i <= NF; i++) if ($i == "sign/s") col = i }
        /^rsa 2048 bits/ && col { print $(col + 3); found = 1 }
        END { if (!found) exit 1 }'
}

# The best of $1 rounds of bench_openssl_signs (each round printed on stderr): the bound of a grant that signs
# two JWTs is half of it.
bench_best_signs() {
    local best=0 s round
    for round in $(seq 1 "$1"); do
        s="$(bench_openssl_signs)"
        echo "openssl speed rsa2048 round $round: $s sign/s" >&2
        best="$(awk -v a="$best" -v b="$s" 'BEGIN { print (a + 0 > b + 0 ? a : b) }')"
    done
    echo "$best"
}

# bench_ratio A B: A / B, two decimals. bench_at_most R T / bench_at_least R T: PASS or MISS.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
bench_at_most() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "PASS" : "MISS") }'; }
bench_at_least() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "PASS" : "MISS") }'; }
# bench_net_of_shell CMD_MS BASE_MS SHELL_MS: (CMD - shell) / (BASE - shell) as "N.Nx", or n/a when BASE is
# within 0.05 ms of the bare shell.
bench_net_of_shell() {
    awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { if (b - s > 0.05) printf "%.1fx", (a - s) / (b - s); else print "n/a" }'
}

# Stops the gateway whose pid is $1 (SIGTERM: it stops its workers; then SIGKILL after 5 s) and reaps it.
bench_stop_server() {
    local pid="$1"
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# bench_serve_tenant WORKERS: a fresh SQLite tenant whose issuer is the gateway's own address, holding the bench
# user ($email, $password), served by `gangway serve --mode warm` with WORKERS workers, on another port if the one
# picked was taken meanwhile (three tries). Sets host, port, store and server; `gangway init --json`'s answer is in
# $tmp/tenant-init.json, the gateway's output in $tmp/serve.out and $tmp/serve.err.
bench_serve_tenant() {
    local workers="$1" attempt
    for attempt in 1 2 3; do
        port="$(bench_free_port)"
        host="127.0.0.1:$port"
        store="sqlite:$tmp/tenant$attempt.db"
        timeout 60 "$BENCH_BIN/gangway" init --store "$store" --issuer "http://$host/" --json >"$tmp/tenant-init.json"
        timeout 60 "$BENCH_BIN/gangway" users create --store "$store" --email "$email" --password "$password" >/dev/null
        if bench_serve "$store" "$port" "$workers" "$tmp/serve"; then server="$BENCH_SERVER"; return 0; fi
    done
    echo "bench: gateway did not start:" >&2
    cat "$tmp/serve.err" >&2
    exit 1
}
