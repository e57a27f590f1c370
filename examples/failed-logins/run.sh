#!/usr/bin/env bash
# Runs the failed-login example twice: the corrected seed setup (prints the ALARM notification
# as SNS would deliver it), then the seed's literal setup (no notification, and a warning that
# names the unit mismatch). Usage: run.sh [path/to/cwfilter]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cwfilter="${1:-cwfilter}"
echo "== corrected seed setup (config.json): SNS notifications on stdout, summary on stderr" >&2
"$cwfilter" run --quiet --dead-letter /dev/null --config "$here/config.json" "$here/cloudtrail"
echo >&2
echo "== the seed's literal setup (config-literal-seed.json): alarm Unit Count, filter unit None" >&2
"$cwfilter" run --quiet --dead-letter /dev/null --config "$here/config-literal-seed.json" "$here/cloudtrail"
