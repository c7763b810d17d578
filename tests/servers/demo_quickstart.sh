#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, works and works again: run twice in a temporary demo directory (the
# packages and the build are already there under ctest), each run fetching its page over verified TLS from nginx
# with the key in a vault, then from a second nginx with the keys only in azkmd (its handshakes in azkmd's audit
# log, no private key among that server's files); --stop stops both nginx and azkmd. Seconds, not minutes.
set -euo pipefail
: "${AZKM_TOP:?}" "${AZKM:?}"
export AZKM_DEMO_DIR
AZKM_DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/azkm-demo-test.XXXXXX")
trap 'bash "$AZKM_TOP/scripts/demo.sh" --stop >/dev/null 2>&1 || true; rm -rf "$AZKM_DEMO_DIR"' EXIT
build=$(cd "$(dirname "$AZKM")/.." && pwd)
for run in 1 2; do
    start=$SECONDS
    out=$(AZKM_DEMO_SKIP_SETUP=1 AZKM_BUILD_DIR=$build AZKM_DEMO_PORT=0 bash "$AZKM_TOP/scripts/demo.sh" 2>&1) ||
        { echo "FAIL: demo run $run: $out" >&2; exit 1; }
    grep -q "Hello from nginx" <<<"$out" || { echo "FAIL: run $run fetched no page: $out" >&2; exit 1; }
    grep -q "no private key file is among the server's files: none found" <<<"$out" ||
        { echo "FAIL: run $run: $out" >&2; exit 1; }
    grep -q "Hello from nginx: this TLS connection was signed by azkmd; this server holds no key." <<<"$out" ||
        { echo "FAIL: run $run fetched no page from the nginx with its keys in azkmd: $out" >&2; exit 1; }
    grep -Eq "^- the key lives in azkmd and the handshake succeeded: nginx on https://localhost:[0-9]+/" <<<"$out" ||
        { echo "FAIL: run $run does not say that the key lives in azkmd: $out" >&2; exit 1; }
    grep -Eq "each signed by azkmd \(([2-9]|[1-9][0-9]+) KeySign records for uid" <<<"$out" ||
        { echo "FAIL: run $run: azkmd did not sign both handshakes: $out" >&2; exit 1; }
    grep -q "no private key file is among its files: *$" <<<"$out" && grep -q "^  none found under $AZKM_DEMO_DIR/azkmd-web" <<<"$out" ||
        { echo "FAIL: run $run: a private key among the files of the nginx with its keys in azkmd: $out" >&2; exit 1; }
    remote=$(find "$AZKM_DEMO_DIR/azkmd-web/ks" -type f -printf '%P\n')
    [ "$remote" = web/remote.json ] || { echo "FAIL: that nginx's keystore holds more than an entry: $remote" >&2; exit 1; }
    pids=$(cat "$AZKM_DEMO_DIR/run/nginx.pid" "$AZKM_DEMO_DIR/azkmd-web/run/nginx.pid" "$AZKM_DEMO_DIR/run/azkmd.pid")
    for pid in $pids; do kill -0 "$pid" || { echo "FAIL: process $pid is not left running" >&2; exit 1; }; done
    echo "ok: demo run $run ($((SECONDS - start)) s)"
done
bash "$AZKM_TOP/scripts/demo.sh" --stop
sleep 0.2
for pid in $pids; do
    kill -0 "$pid" 2>/dev/null && { echo "FAIL: --stop left process $pid (nginx or azkmd) running" >&2; exit 1; }
done
echo "PASS"
