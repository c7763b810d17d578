#!/usr/bin/env bash
# Installs the Azure SDK packages the sdk tests use (@azure/keyvault-keys, @azure/identity), exactly as
# tests/sdk/package-lock.json pins them, into tests/sdk/node_modules (git-ignored) with `npm ci`. Run by
# scripts/setup.sh; does nothing when node_modules already holds this lock file's packages (a copy of the lock
# file it installed is kept there), so a second run does not reinstall or touch the network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stamp="$here/node_modules/.azkm-installed-lock.json"
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "tests/sdk/install.sh: node and npm are needed (scripts/setup.sh installs them)" >&2; exit 1; }
if [ -f "$stamp" ] && cmp -s "$here/package-lock.json" "$stamp"; then
    echo "tests/sdk/install.sh: Azure SDK packages already installed"
    exit 0
fi
# --ignore-scripts: these packages need no install scripts. Engine warnings are not errors (npm's default).
npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund --loglevel=error
cp "$here/package-lock.json" "$stamp"
echo "tests/sdk/install.sh: Azure SDK packages installed in $here/node_modules"
