#!/usr/bin/env bash
# Installs every Debian package azkm needs to build, test and run its demo. Idempotent; run as root or with sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  openssl libssl3 libssl-dev
  libsqlite3-dev sqlite3
  libjansson-dev libevent-dev libcurl4-openssl-dev
  libcmocka-dev
  softhsm2 opensc libp11-dev libengine-pkcs11-openssl p11-kit libp11-kit-dev
  nginx-light apache2 apache2-utils curl stunnel4 haproxy
  procps psmisc iproute2
  jq python3
  clang-14 libclang-rt-14-dev valgrind
  gdb lintian
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: not root and sudo is missing; run as root" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm run the real Azure SDK against azkmd (tests/sdk); a newer nodejs from elsewhere (NodeSource ships npm
# inside its nodejs package) is kept, Debian's own is installed only when there is none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
  missing+=(nodejs npm)
fi
# openssl, libssl3 and libssl-dev must be the same release (Apache logs AH01882 otherwise): always ask apt for
# the current one of all three together.
if [ ${#missing[@]} -gt 0 ] || [ "${AZKM_SETUP_UPGRADE:-0}" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi
# Debian starts services on install; tests run their own servers on ephemeral ports.
for svc in nginx apache2 haproxy stunnel4; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
# The Azure SDK for the tests, at the versions tests/sdk/package-lock.json pins (a no-op once they are installed).
bash "$(cd "$(dirname "$0")/.." && pwd)/tests/sdk/install.sh"
echo "setup.sh: all packages present"
