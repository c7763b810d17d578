#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, works and works again: run twice in a temporary demo directory (the
# packages and the build are already there under ctest), each run fetching its page over verified TLS from nginx
# with the key in a vault; --stop stops nginx.
set -euo pipefail
: "${AZKM_TOP:?}" "${AZKM:?}"
export AZKM_DEMO_DIR
AZKM_DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/azkm-demo-test.XXXXXX")
trap 'bash "$AZKM_TOP/scripts/demo.sh" --stop >/dev/null 2>&1 || true; rm -rf "$AZKM_DEMO_DIR"' EXIT
build=$(cd "$(dirname "$AZKM")/.." && pwd)
for run in 1 2; do
    out=$(AZKM_DEMO_SKIP_SETUP=1 AZKM_BUILD_DIR=$build AZKM_DEMO_PORT=0 bash "$AZKM_TOP/scripts/demo.sh" 2>&1) ||
        { echo "FAIL: demo run $run: $out" >&2; exit 1; }
    grep -q "Hello from nginx" <<<"$out" || { echo "FAIL: run $run fetched no page: $out" >&2; exit 1; }
    grep -q "no private key file is among the server's files: none found" <<<"$out" ||
        { echo "FAIL: run $run: $out" >&2; exit 1; }
    pid=$(cat "$AZKM_DEMO_DIR/run/nginx.pid")
    kill -0 "$pid" || { echo "FAIL: nginx is not left running" >&2; exit 1; }
    echo "ok: demo run $run"
done
bash "$AZKM_TOP/scripts/demo.sh" --stop
sleep 0.2
kill -0 "$pid" 2>/dev/null && { echo "FAIL: --stop left nginx running" >&2; exit 1; }
echo "PASS"
