#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test through ctest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZKM_BUILD_DIR:-$top/build}
bash "$top/scripts/setup.sh"
bash "$top/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
