#!/usr/bin/env bash
# Builds every function of infra/routes.json in release with the Swift runtime linked statically and zips each
# executable as `bootstrap` (the entry point of Lambda's provided.al2023 runtime) into dist/<function>.zip,
# where infra/template.yaml's CodeUri points.
#
#   bash infra/package.sh
#
# Environment:
#   GANGWAY_FUNCTIONS   space-separated functions to package (default: every function in infra/routes.json)
#   GANGWAY_DIST_DIR    where the zips go (default: dist/ at the repository root)
#   GANGWAY_SKIP_BUILD  1: do not build, package the executables already in the release bin directory
#   GANGWAY_RELEASE_BIN_DIR  that directory (default: what `swift build -c release --show-bin-path` says)
#
# The executables link the system's libssl/libcrypto 3, libsqlite3, libcrypt and libstdc++ dynamically and
# dlopen libcurl 4 (the Runtime API loop) and libpq 5 (postgres:// stores): build on the distribution the
# functions will run on (Amazon Linux 2023 for provided.al2023). See the README's "Deploy" section.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# The newest glibc symbol version an executable needs; Amazon Linux 2023 ships glibc 2.34.
target_glibc="${GANGWAY_TARGET_GLIBC:-2.34}"
needed_glibc() {
  command -v objdump >/dev/null || return 0
  objdump -T "$1" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1
}

for f in $functions; do
  exe="$bin/$f"
  [ -x "$exe" ] || { echo "package: $exe not found or not executable" >&2; exit 1; }
  out="$dist/$f.zip"
  # The zip holds exactly one entry: `bootstrap`, mode 0755 (Lambda runs it as the custom runtime).
  python3 - "$exe" "$out" <<'PY'
import os, sys, zipfile
exe, out = sys.argv[1], sys.argv[2]
tmp = out + ".tmp"
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.compress_type = zipfile.ZIP_DEFLATED
info.create_system = 3  # Unix, so the mode bits are honoured
with zipfile.ZipFile(tmp, "w") as z, open(exe, "rb") as src:
    with z.open(info, "w") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
os.replace(tmp, out)
PY
  need="$(needed_glibc "$exe")"
  if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$target_glibc" | sort -V | tail -1)" != "$target_glibc" ]; then
    echo "package: warning: $f needs GLIBC_$need but Amazon Linux 2023 has $target_glibc: it will not start on provided.al2023; build on Amazon Linux 2023" >&2
  fi
  echo "package: $out ($(du -h "$out" | cut -f1))" >&2
done
