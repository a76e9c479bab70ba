#!/usr/bin/env bash
# The README's second command, and exactly what CI runs: build everything, then run the Swift suite
# (unit, store conformance, real gateway processes) and the pytest suite (Auth0's SDK, JOSE libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# A real PostgreSQL server for the postgres:// store's tests (exports GANGWAY_TEST_POSTGRES_URL); they must run here.
source scripts/postgres.sh
export GANGWAY_REQUIRE_POSTGRES=1

# Formatting is checked first, like a test: `bash scripts/format.sh` fixes what this reports.
swift format lint --strict --parallel $(git ls-files '*.swift')

# The manifest lists functions/ at evaluation time; SwiftPM's shared manifest cache (keyed by Package.swift's
# text and path) would keep an older list of functions, so every command here evaluates it afresh.
swift build --manifest-cache none --build-tests
# Functions as they ship: release, static Swift runtime. The suite checks what they link.
for f in $(.venv/bin/python -c 'import json; print(" ".join(json.load(open("infra/routes.json"))["functions"]))'); do
  swift build --manifest-cache none -c release --product "$f"
done

export GANGWAY_BIN_DIR="$PWD/.build/debug"
export GANGWAY_RELEASE_BIN_DIR="$PWD/.build/release"
status=0
swift test --manifest-cache none --skip-build || status=$?
.venv/bin/python -m pytest -q tests || status=$?
exit $status
