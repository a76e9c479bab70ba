#!/usr/bin/env bash
# Formats every Swift file with the toolchain's swift-format and the checked-in .swift-format (what CI lints).
set -euo pipefail
cd "$(dirname "$0")/.."
swift format format --in-place --recursive --parallel Package.swift Sources functions runtime Tests bench/Sources
