#!/usr/bin/env bash
# Builds cwfilter with the `dev` preset and runs every test: the C++ suite through ctest, then the
# Python bindings' pytest suite. Installs missing system packages first (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset dev >/dev/null
cmake --build --preset dev -j"$jobs"
ctest --preset dev -j"$jobs"
if [ -x scripts/python-test.sh ] || [ -f scripts/python-test.sh ]; then
  bash scripts/python-test.sh
fi
