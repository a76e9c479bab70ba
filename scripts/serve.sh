#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the gateway (arguments go to `gangway serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
GANGWAY_SKIP_PYTHON=1 bash scripts/bootstrap.sh
swift build --manifest-cache none -c release
exec .build/release/gangway serve "$@"
