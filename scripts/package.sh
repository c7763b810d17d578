#!/usr/bin/env bash
# Builds the Debian package azkm_<version>_<arch>.deb from this tree (docs/packaging.md): a Release build for the
# prefix /usr without tests, then CPack's DEB generator. Prints the path of the .deb.
#   bash scripts/package.sh            # build dir: build-deb/ (AZKM_DEB_BUILD_DIR overrides)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZKM_DEB_BUILD_DIR:-$top/build-deb}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF \
    -DAZKM_MODULES_DIR= >/dev/null
cmake --build "$build" -j"$(nproc)" --target azkm azkmd azkm_provider azkm_man >/dev/null
(cd "$build" && rm -f ./*.deb && cpack -G DEB >cpack.log 2>&1) || { cat "$build/cpack.log" >&2; exit 1; }
ls "$build"/azkm_*.deb
