#!/usr/bin/env bash
# Installs what Gangway needs on a fresh Debian machine: system libraries (through apt) and the Python
# test clients (into .venv). Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libssl-dev libcurl4-openssl-dev libcrypt-dev libargon2-dev zlib1g-dev libsqlite3-dev libunistring-dev libpq-dev postgresql python3-venv curl hyperfine wrk chromium chromium-driver)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${GANGWAY_SKIP_PYTHON:-0}" != "1" ]; then
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import auth0, joserfc, jwt, pytest, cfnlint, openapi_spec_validator, yaml, schemathesis, selenium, authlib, passlib, argon2, bcrypt, whirlpool' 2>/dev/null; then
    echo "bootstrap: preparing .venv (auth0-python, joserfc, PyJWT, pytest, cfn-lint, openapi-spec-validator, schemathesis, selenium, Authlib)" >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  fi
fi
