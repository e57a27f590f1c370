#!/usr/bin/env bash
# Creates (once) the virtual environment build/venv with what the Python bindings need to build
# and test: nanobind, scikit-build-core and pytest from PyPI. Prints the environment's python.
#
#   CWFILTER_VENV=<dir>   use another environment
#   CWFILTER_PYSPARK=1    also install pyspark 3.5.x (~320 MB; needs a JVM: Java 17 works) for the
#                         PySpark example test
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CWFILTER_VENV:-$repo/build/venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "python-env: creating $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q "scikit-build-core>=0.10" "nanobind>=2.0" "pytest>=7" >&2
if [ "${CWFILTER_PYSPARK:-0}" = 1 ]; then
  "$venv/bin/python" -m pip install -q "pyspark>=3.5,<3.6" >&2
fi
echo "$venv/bin/python"
