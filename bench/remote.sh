#!/usr/bin/env bash
# Remote vaults' benchmark (docs/performance.md, "Remote vaults"): the same software keys used in-process (vault
# swv of this keystore) and through azkmd over its Unix socket (a second keystore whose vault swv is a remote entry
# for azkmd's swv, so the same azkm://swv/keys/... URIs and key reference files name them).
#
#   bash bench/remote.sh <build dir> <results dir>     (scripts/bench.sh runs it as its part "remote")
#
# 1. provider private-key operations/s, in-process vs remote, at 1, 2 and 8 threads (azkm-bench paths azkm-sw and
#    azkm-remote, interleaved; nothing pinned: client and azkmd share the machine, as on a real host);
# 2. nginx full handshakes: the PEM file, the in-process software tier and the remote vault, RSA-2048 and P-256,
#    worker and azkmd (1 thread) pinned to CPU 0, the client to CPU 1; server CPU counts azkmd's time too;
# 3. BENCH_REMOTE_SOAK seconds (0: skipped) of 16 concurrent clients (curl, a full handshake each) on the remote
#    RSA-2048 nginx: every answer must be a 200.
# Knobs: BENCH_RUNS (5), BENCH_SECONDS (1), BENCH_TLS_RUNS (3), BENCH_TLS_SECONDS (6), BENCH_REMOTE_SOAK (0).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$1 OUT=$2
mkdir -p "$OUT"
RUNS=${BENCH_RUNS:-5} SECS=${BENCH_SECONDS:-1} TLS_RUNS=${BENCH_TLS_RUNS:-3} TLS_SECS=${BENCH_TLS_SECONDS:-6}
SOAK=${BENCH_REMOTE_SOAK:-0}
AZKM=$BUILD/cli/azkm
AZKM_CNF=$ROOT/conf/azkm-provider.cnf
export OPENSSL_MODULES=$BUILD/provider
. "$ROOT/bench/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-remote-bench.XXXXXX")
. "$ROOT/bench/nginx.sh"
AZKMD_PID=
stop_azkmd() {
    [ -z "$AZKMD_PID" ] || { kill -TERM "$AZKMD_PID" 2>/dev/null || true; wait "$AZKMD_PID" 2>/dev/null || true; }
    AZKMD_PID=
}
cleanup() {
    for p in "${NGINX_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_azkmd
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
bench_setup "$T" "$AZKM" # keystore $T/ks: vault swv with rsa2048, rsa3072, ec256, ec384 imported from PEM

# start_azkmd THREADS CPU|-: azkmd on $T/ks, its Unix socket $T/azkmd.sock, pinned to CPU (or not)
start_azkmd() {
    local pin=()
    [ "$2" = - ] || pin=(taskset -c "$2")
    cat >"$T/azkmd.conf" <<CONF
keystore_dir = $T/ks
audit_log = $T/audit.log
listen_unix = $T/azkmd.sock mode=0600
threads = $1
shutdown_grace = 1
rate_limit = 0
max_connections = 0
CONF
    "${pin[@]}" "$BUILD/server/azkmd" --config "$T/azkmd.conf" >"$T/azkmd.log" 2>&1 &
    AZKMD_PID=$!
    for _ in $(seq 300); do
        grep -q '^azkmd: ready' "$T/azkmd.log" && return 0
        kill -0 "$AZKMD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "remote.sh: azkmd did not start: $(cat "$T/azkmd.log")" >&2
    exit 1
}

AZKM_KEYSTORE_DIR=$T/rks "$AZKM" vault connect --name swv --url "unix:$T/azkmd.sock" >/dev/null
{
    echo "date: $(date -u +%FT%TZ)"
    echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
    echo "openssl: $(openssl version), nginx: $(nginx -v 2>&1 | sed 's/.*\///'), curl: $(curl -V | head -1 | cut -d' ' -f2)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/environment-remote.txt"

# ---- 1. provider operations -------------------------------------------------------------------------------------
start_azkmd 2 -
echo "== provider operations, in-process vs remote (azkmd with 2 threads): $RUNS runs x $SECS s per cell"
"$BUILD/bench/azkm-bench" --keys "$T/keys.txt" --plain-conf "$T/plain.cnf" --azkm-conf "$AZKM_CNF" \
    --module "$BENCH_MODULE" --token "$BENCH_TOKEN" --pin-file "$BENCH_PIN_FILE" --remote-keystore "$T/rks" \
    --paths azkm-sw,azkm-remote --ops "RSA-2048 PKCS#1,RSA-2048 PSS,ECDSA P-256" --threads 1,2,8 \
    --runs "$RUNS" --seconds "$SECS" --tsv "$OUT/remote-ops.tsv" | tee "$OUT/remote-ops.txt"
stop_azkmd

# ---- 2. nginx handshakes ----------------------------------------------------------------------------------------
start_azkmd 1 0
echo "== nginx full handshakes, PEM file vs in-process vs remote (azkmd 1 thread on CPU 0): $TLS_RUNS runs x $TLS_SECS s"
CASES=()
for k in rsa2048 ec256; do
    OPENSSL_CONF=/dev/null openssl req -new -x509 -key "$T/keys/$k.pem" -subj /CN=localhost -days 2 \
        -out "$T/$k.crt" 2>/dev/null
    "$AZKM" key ref --vault-name swv --name "$k" --file "$T/$k.ref.pem" >/dev/null
    AZKM_KEYSTORE_DIR=$T/rks "$AZKM" key ref --vault-name swv --name "$k" --file "$T/$k.remote.ref.pem" >/dev/null
    start_nginx $k/file "$T/$k.crt" "$T/keys/$k.pem" "$T/plain.cnf"
    start_nginx $k/azkm-sw "$T/$k.crt" "$T/$k.ref.pem" "$AZKM_CNF"
    AZKM_KEYSTORE_DIR=$T/rks start_nginx $k/azkm-remote "$T/$k.crt" "$T/$k.remote.ref.pem" "$AZKM_CNF"
    CASES+=("$k/file" "$k/azkm-sw" "$k/azkm-remote")
done
tls_measure "$OUT/remote-tls.tsv" "$TLS_RUNS" "$TLS_SECS" "${CASES[@]}"
tls_table "$OUT/remote-tls.tsv" | tee "$OUT/remote-tls.txt"

# ---- 3. soak ----------------------------------------------------------------------------------------------------
if [ "$SOAK" -gt 0 ]; then
    echo "== $SOAK s of 16 concurrent clients on the remote RSA-2048 nginx (a full handshake per request)"
    end=$(($(date +%s) + SOAK))
    soakers=()
    for c in $(seq 16); do
        while [ "$(date +%s)" -lt "$end" ]; do
            OPENSSL_CONF=/dev/null curl -sk --max-time 10 -o /dev/null -w '%{http_code}\n' \
                "https://127.0.0.1:${PORT[rsa2048/azkm-remote]}/" || true
        done >"$T/soak.$c" &
        soakers+=($!)
    done
    wait "${soakers[@]}"
    total=$(cat "$T"/soak.* | wc -l)
    bad=$(cat "$T"/soak.* | grep -c -v -x 200 || true)
    echo "soak: $total requests, $bad not answered 200, over $SOAK s" | tee "$OUT/remote-soak.txt"
    grep -E '\[(alert|crit|emerg|error)\]' "$T/nginx/rsa2048-azkm-remote/logs/error.log" | tail -3 || true
    [ "$bad" = 0 ] || { echo "remote.sh: $bad requests failed in the soak" >&2; exit 1; }
fi
stop_nginxes
kill -0 "$AZKMD_PID" 2>/dev/null || { echo "remote.sh: azkmd died: $(tail "$T/azkmd.log")" >&2; exit 1; }
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/environment-remote.txt"
