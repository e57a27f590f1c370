#!/usr/bin/env bash
# Builds cwfilter with the `dev` preset and runs every test: the C++ suite through ctest, then the
# Python bindings' pytest suite. Installs missing system packages first (Debian).
#
# The Python extension is built in the same tree as the C++ tests (one build of the library, not
# two); scripts/python-test.sh checks the `pip install .` packaging path instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
python=$(bash scripts/python-env.sh)
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset dev -DCWFILTER_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python" >/dev/null
cmake --build --preset dev -j"$jobs"
ctest --preset dev -j"$jobs"
# The package as built in the tree (bindings/python/cwfilter + the extension), and its CLI.
PYTHONPATH="$PWD/build/dev/bindings/python/package" CWFILTER_CLI="$PWD/build/dev/cwfilter" \
  "$python" -m pytest -q -p no:cacheprovider tests/python
