#!/usr/bin/env bash
# Configures and builds azkm into build/ (or $AZKM_BUILD_DIR). Used by the demo and the test command.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZKM_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=${AZKM_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build" -j"$(nproc)"
