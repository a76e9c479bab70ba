#!/usr/bin/env bash
# Issue 14: bulk import through the CLI (`gangway users import FILE`), on SQLite and on PostgreSQL.
#
# Files (generated here): 100,000 users without hashes (a JSON array, Auth0's import format) and 100,000 users
# with a bcrypt `password_hash` (NDJSON, Auth0's export format; one cost-10 hash shared by all, since an import
# stores a hash and never computes one), plus a 10,000-user file of each kind for the memory check.
# Each import goes into a fresh store (a new SQLite file; a fresh PostgreSQL schema) and prints users per second
# (the CLI's own summary) and the peak resident memory of the process (GNU time's %M).
# Target: memory flat in file size, i.e. peak RSS at 100,000 users <= 1.5x the peak at 10,000 (streamed, not
# loaded whole). Users per second are information (no target in the issue).
# PostgreSQL: $GANGWAY_BENCH_POSTGRES_URL, else $GANGWAY_TEST_POSTGRES_URL, else scripts/postgres.sh starts one.
# Env: BENCH_IMPORT_USERS (default 100000), BENCH_IMPORT_SMALL (10000), BENCH_IMPORT_STORES ("sqlite postgres"),
# plus lib.sh's build settings.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need jq python3 /usr/bin/time
bench_build

big="${BENCH_IMPORT_USERS:-100000}"
small="${BENCH_IMPORT_SMALL:-10000}"
stores="${BENCH_IMPORT_STORES:-sqlite postgres}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gangway-import.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" "$big" "$small" <<'EOF'
import json, sys
tmp, big, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# A cost-10 bcrypt hash of "Bench-import-1!" (made once with the bcrypt package; every user shares it).
BCRYPT = "$2b$10$nF9T8fOo/brsjNmtXIxW..QI7Z8Dky8x.hQJgHd4owbOEmTfNo6jm"
def user(i, hashed):
    u = {"email": f"user{i}@bench.example", "email_verified": i % 2 == 0, "name": f"Bench User {i}",
         "user_metadata": {"n": i}, "app_metadata": {"plan": "free"}}
    if hashed:
        u["password_hash"] = BCRYPT
    return u
for n, label in ((big, "big"), (small, "small")):
    with open(f"{tmp}/plain-{label}.json", "w") as f:   # a JSON array, streamed out
        f.write("[")
        for i in range(n):
            f.write(("," if i else "") + json.dumps(user(i, False)))
        f.write("]")
    with open(f"{tmp}/bcrypt-{label}.ndjson", "w") as f:
        for i in range(n):
            f.write(json.dumps(user(i, True)) + "\n")
EOF

pg=""
if [[ " $stores " == *" postgres "* ]]; then
    pg="${GANGWAY_BENCH_POSTGRES_URL:-${GANGWAY_TEST_POSTGRES_URL:-}}"
    if [[ -z "$pg" ]]; then
        source "$BENCH_ROOT/scripts/postgres.sh" || { echo "bench: no PostgreSQL (set GANGWAY_BENCH_POSTGRES_URL)" >&2; exit 2; }
        pg="$GANGWAY_TEST_POSTGRES_URL"
    fi
fi
with_query() { if [[ "$1" == *\?* ]]; then echo "$1&$2"; else echo "$1?$2"; fi; }

# One import into a fresh store: prints "users_per_second peak_rss_kib inserted".
run_import() {
    local kind="$1" file="$2" n="$3" store
    case "$kind" in
        sqlite) store="sqlite:$tmp/s-$RANDOM$RANDOM.db" ;;
        postgres) store="$(with_query "$pg" "schema=bench_import_$RANDOM$RANDOM")" ;;
    esac
    timeout 120 "$BENCH_BIN/gangway" init --store "$store" --issuer "http://bench.example/" >/dev/null
    /usr/bin/time -f "%M" -o "$tmp/rss" timeout 1200 "$BENCH_BIN/gangway" users import "$file" --store "$store" \
        --tenant "http://bench.example/" >"$tmp/summary.json"
    local inserted
    inserted="$(jq -r .inserted "$tmp/summary.json")"
    [[ "$inserted" == "$n" ]] || { echo "bench: $file into $kind inserted $inserted of $n" >&2; cat "$tmp/summary.json" >&2; exit 1; }
    echo "$(jq -r .users_per_second "$tmp/summary.json") $(tail -n 1 "$tmp/rss") $inserted"
}

for kind in $stores; do
    for file in plain bcrypt; do
        ext=json; [[ "$file" == bcrypt ]] && ext=ndjson
        read -r rate_big rss_big _ < <(run_import "$kind" "$tmp/$file-big.$ext" "$big")
        read -r rate_small rss_small _ < <(run_import "$kind" "$tmp/$file-small.$ext" "$small")
        ratio="$(python3 -c "print(f'{$rss_big / $rss_small:.2f}')")"
        verdict="$(python3 -c "print('PASS' if $rss_big <= 1.5 * $rss_small else 'MISS')")"
        echo "import $kind $file: $big users at $rate_big users/s, peak RSS $((rss_big / 1024)) MiB; $small users at $rate_small users/s, $((rss_small / 1024)) MiB"
        bench_result "import $kind $file users/s" "$rate_big" "-" "-" "information" INFO
        bench_result "import $kind $file peak RSS ${big} vs ${small}" "${rss_big}KiB" "${rss_small}KiB" "$ratio" "<= 1.5" "$verdict"
    done
done
