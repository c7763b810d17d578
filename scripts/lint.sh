#!/usr/bin/env bash
# The structural checks alone (ctest label "lint", tests/lint/): builds first, since the call-graph check reads the
# object files. Extra arguments go to ctest (e.g. -R lint_no_loops).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZKM_BUILD_DIR:-$top/build}
bash "$top/scripts/build.sh"
ctest --test-dir "$build" -L lint --output-on-failure "$@"
