#!/usr/bin/env bash
# Builds every function of infra/routes.json in release with the Swift runtime linked statically and zips each
# executable as `bootstrap` (the entry point of Lambda's provided.al2023 runtime) into dist/<function>.zip,
# where infra/template.yaml's CodeUri points; and dist/gangway-libs-layer.zip, the Lambda layer (lib/, which
# Lambda puts on LD_LIBRARY_PATH as /opt/lib) with libcurl 4 and libpq 5 and every library they need beyond glibc,
# copied from the build machine.
#
#   bash infra/package.sh
#
# Environment:
#   GANGWAY_FUNCTIONS   space-separated functions to package (default: every function in infra/routes.json)
#   GANGWAY_DIST_DIR    where the zips go (default: dist/ at the repository root)
#   GANGWAY_SKIP_BUILD  1: do not build, package the executables already in the release bin directory
#   GANGWAY_RELEASE_BIN_DIR  that directory (default: what `swift build -c release --show-bin-path` says)
#   GANGWAY_TARGET_GLIBC     the newest glibc symbol version allowed (default 2.34: Amazon Linux 2023)
#
# Every executable links libcrypto, SQLite, libxcrypt, libargon2, zlib, libstdc++ and the Swift runtime
# statically and needs nothing but glibc and libgcc_s; libcurl (the first upstream call) and libpq (postgres://
# stores) are dlopen'ed from the layer. The script fails when an executable or a layer library needs a glibc
# symbol newer than GANGWAY_TARGET_GLIBC, or an executable names a shared library outside that set: such a
# function would not start on provided.al2023. See the README's "Deploy" section.
set -euo pipefail
cd "$(dirname "$0")/.."
need() { for t in "$@"; do command -v "$t" >/dev/null || { echo "package: '$t' is required (binutils, libc-bin)" >&2; exit 1; }; done; }

functions="${GANGWAY_FUNCTIONS:-$(python3 -c 'import json; print(" ".join(json.load(open("infra/routes.json"))["functions"]))')}"
dist="${GANGWAY_DIST_DIR:-$PWD/dist}"
mkdir -p "$dist"
dist="$(cd "$dist" && pwd)"

if [ "${GANGWAY_SKIP_BUILD:-0}" != "1" ]; then
  for f in $functions; do
    echo "package: building $f (release, static Swift runtime)" >&2
    swift build -c release --product "$f"
  done
fi
bin="${GANGWAY_RELEASE_BIN_DIR:-$(swift build -c release --show-bin-path)}"

target_glibc="${GANGWAY_TARGET_GLIBC:-2.34}"
# What provided.al2023 is sure to have: glibc's own libraries and libgcc_s (glibc itself loads it).
base_libraries='^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libresolv\.so\.2|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$'
need objdump readelf ldd

# The newest GLIBC_ symbol version a binary needs (empty when none).
needed_glibc() { objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1; }

# Fails unless $1 needs no glibc symbol newer than the target.
check_glibc() {
  local newest
  newest="$(needed_glibc "$1")"
  if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$target_glibc" | sort -V | tail -1)" != "$target_glibc" ]; then
    echo "package: $1 needs GLIBC_$newest, newer than $target_glibc (Amazon Linux 2023): it would not start on provided.al2023" >&2
    objdump -T "$1" | grep -E "GLIBC_$newest" | sed 's/^/package:   /' >&2
    exit 1
  fi
}

# Fails if executable $1 names a shared library provided.al2023 may lack.
check_needed() {
  local lib extra=""
  for lib in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ "$lib" =~ $base_libraries ]] || extra="$extra $lib"
  done
  if [ -n "$extra" ]; then
    echo "package: $1 needs shared libraries beyond glibc and libgcc_s:$extra" >&2
    exit 1
  fi
}

# Writes zip $1 from (source path, name in the zip) pairs, each entry 0755, dated 1980 so the zip depends on
# the contents only.
write_zip() {
  python3 - "$@" <<'PY'
import os, sys, zipfile
out, pairs = sys.argv[1], sys.argv[2:]
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w") as z:
    for path, name in zip(pairs[::2], pairs[1::2]):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # Unix, so the mode bits are honoured
        with z.open(info, "w") as dst, open(path, "rb") as src:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
os.replace(tmp, out)
PY
}

for f in $functions; do
  exe="$bin/$f"
  [ -x "$exe" ] || { echo "package: $exe not found or not executable" >&2; exit 1; }
  check_glibc "$exe"
  check_needed "$exe"
  # The zip holds exactly one entry: `bootstrap` (Lambda runs it as the custom runtime).
  write_zip "$dist/$f.zip" "$exe" bootstrap
  echo "package: $dist/$f.zip ($(du -h "$dist/$f.zip" | cut -f1))" >&2
done

# The layer: the libraries the functions dlopen, with what they load in turn, glibc's own left to the system.
layer_entries=()
declare -A layered=()
for soname in libcurl.so.4 libpq.so.5; do
  # (awk reads to the end: exiting early would fail the pipeline with ldconfig's SIGPIPE.)
  path="$(ldconfig -p | awk -v s="$soname" '$1 == s && $0 ~ /x86-64|AArch64/ && !found { print $NF; found = 1 }')"
  [ -n "$path" ] || { echo "package: $soname not found on this machine (apt-get install libcurl4 libpq5)" >&2; exit 1; }
  for lib in "$path" $(ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
    name="$(basename "$lib")"
    [ "$lib" = "$path" ] && name="$soname"
    [[ "$name" =~ $base_libraries ]] && continue
    [ -n "${layered[$name]:-}" ] && continue
    layered[$name]=1
    check_glibc "$lib"
    layer_entries+=("$(readlink -f "$lib")" "lib/$name")
  done
done
write_zip "$dist/gangway-libs-layer.zip" "${layer_entries[@]}"
echo "package: $dist/gangway-libs-layer.zip (${#layered[@]} libraries, $(du -h "$dist/gangway-libs-layer.zip" | cut -f1))" >&2
