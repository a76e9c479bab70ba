# Shared helpers for the bench scripts (sourced, not run).
# GANGWAY_BENCH_BUILD_DIR: SwiftPM scratch dir holding the release build (default: <repo>/.build).
# GANGWAY_BENCH_SKIP_BUILD=1: use the binaries already in $GANGWAY_BENCH_BUILD_DIR/release as they are.

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$BENCH_ROOT/bench"
BENCH_BUILD_DIR="${GANGWAY_BENCH_BUILD_DIR:-$BENCH_ROOT/.build}"
BENCH_BIN="$BENCH_BUILD_DIR/release"

bench_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "bench: '$tool' is required (apt-get install $tool)" >&2; exit 2; }
    done
}

# Builds the release binaries once (static Swift stdlib, as shipped) unless told not to.
bench_build() {
    if [[ "${GANGWAY_BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        echo "bench: swift build -c release --static-swift-stdlib --scratch-path $BENCH_BUILD_DIR" >&2
        (cd "$BENCH_ROOT" && swift build -c release --static-swift-stdlib --scratch-path "$BENCH_BUILD_DIR" >&2)
    fi
    [[ -x "$BENCH_BIN/gangway" ]] || { echo "bench: no release build in $BENCH_BIN" >&2; exit 2; }
}

# The function names in infra/routes.json.
bench_functions() { jq -r '.functions | keys[]' "$BENCH_ROOT/infra/routes.json"; }

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

# Load average, so each table says how busy the machine was.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }
