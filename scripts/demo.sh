#!/usr/bin/env bash
# The main job on the bundled example: the failed-login pipeline (examples/failed-logins/).
# Installs missing system packages, builds the release preset, then runs the example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release -DCWFILTER_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release -j"$jobs" --target cwfilter_cli >/dev/null
exec bash examples/failed-logins/run.sh build/release/cwfilter
