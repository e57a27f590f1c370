#!/usr/bin/env bash
# The packaging path: builds the Python package with `pip install .` (scikit-build-core, the
# repository's CMake project) into the virtual environment build/venv and runs the pytest suite in
# tests/python against the installed package. (scripts/test.sh runs the same suite against the
# extension built in the dev tree, which saves a second build of the library.)
#
#   scripts/python-test.sh [pytest arguments...]
#
# Needs what scripts/install-deps.sh installs (compiler, CMake, Ninja, the C++ libraries,
# python3-venv) and access to PyPI for scikit-build-core, nanobind and pytest.
# CWFILTER_PYSPARK=1 also installs pyspark 3.5.x (a ~320 MB download; needs a JVM, e.g. Debian's
# default-jre-headless) so that the PySpark example's test runs instead of being skipped.
# Exit status: pytest's (non-zero on any failure).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

vpy=$(bash "$repo/scripts/python-env.sh")

# No build isolation: the build tree (build/python/<wheel tag>, see pyproject.toml) is reused, so
# a second run only recompiles what changed. The machine's cores are shared: 2 jobs by default.
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
echo "python-test: building and installing the cwfilter package" >&2
"$vpy" -m pip install -q --no-build-isolation "$repo"

cd "$repo"
# Run from the repository root, but import the installed package, not bindings/python/cwfilter.
exec "$vpy" -m pytest -q -p no:cacheprovider tests/python "$@"
