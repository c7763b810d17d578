#!/usr/bin/env bash
# azkmd's benchmark (docs/performance.md, "azkmd"): a throwaway keystore with a software vault "swv" holding an
# RSA-2048 and a P-256 key (imported from PEM files, so the client can verify the signatures), a server certificate
# for *.vault.azkm.localhost, a client certificate registered to a service principal with Key Vault Crypto Officer
# on the vault (TLS callers authenticate with it), and azkmd with one worker thread on a Unix socket and a TLS
# port, pinned to CPU $AZKMD_BENCH_SERVER_CPU (0); azkmd-bench pins its client threads to the other CPU and its
# in-process baseline thread to the server's CPU.
#
#   bash bench/azkmd.sh <azkmd> <azkm> <azkmd-bench> [azkmd-bench options: --runs 7 --seconds 1 --tsv FILE ...]
#   bash bench/azkmd.sh <azkmd> <azkm> <azkmd-bench> --smoke     # ctest bench_azkmd_smoke: seconds, every answer checked
#
# AZKMD_BENCH_WRAPPER runs the server under a tool, e.g. a profile of the request handler alone:
#   AZKMD_BENCH_WRAPPER="valgrind --tool=callgrind --toggle-collect=azkmd_api_handle --callgrind-out-file=/tmp/cg.out"
# and AZKMD_BENCH_CLIENT_WRAPPER the client (its in-process loop: --toggle-collect=inproc_op ... --no-unix --no-tls);
# bench/callgrind_azkmd.py turns either profile into instructions per request.
set -euo pipefail
azkmd=$1 azkm=$2 client=$3
shift 3
smoke=0
for a in "$@"; do [ "$a" = --smoke ] && smoke=1; done
SERVER_CPU=${AZKMD_BENCH_SERVER_CPU:-0}
CLIENT_CPU=${AZKMD_BENCH_CLIENT_CPU:-1}
# Fewer than two CPUs, or the smoke test (it checks answers, not speed): nothing pinned.
if [ "$smoke" = 1 ] || [ "$(nproc)" -lt 2 ]; then SERVER_CPU=-1 CLIENT_CPU=-1; fi

T=$(mktemp -d "${TMPDIR:-/tmp}/azkmd-bench.XXXXXX")
PID=
cleanup() {
    [ -z "$PID" ] || { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$T"
}
trap cleanup EXIT
export AZKM_KEYSTORE_DIR=$T/ks AZKM_AUDIT_LOG=$T/audit.log OPENSSL_CONF=/dev/null
unset AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE AZKM_AUDIT_KEY_OPERATIONS
DOMAIN=vault.azkm.localhost

mkdir -p "$T/keys"
"$azkm" vault create --name swv >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/rsa2048.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/keys/ec256.pem"
for k in rsa2048 ec256; do "$azkm" key import --vault-name swv --name $k --file "$T/keys/$k.pem" >/dev/null; done

ca() { # ca NAME: a self-signed CA
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
        -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
issue() { # issue CA NAME SUBJECT EXT: a P-256 certificate NAME signed by CA
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" -keyout "$T/$2.key" \
        -out "$T/$2.csr" 2>/dev/null
    printf '%s\n' "$4" >"$T/$2.ext"
    openssl x509 -req -in "$T/$2.csr" -CA "$T/$1.crt" -CAkey "$T/$1.key" -CAcreateserial -days 2 \
        -extfile "$T/$2.ext" -out "$T/$2.crt" 2>/dev/null
}
ca server-ca
ca client-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN"
issue client-ca client "/CN=azkmd-bench" "extendedKeyUsage=clientAuth"
app=$("$azkm" sp create --display-name azkmd-bench --cert "$T/client.crt" -o json | jq -r .appId)
"$azkm" role assignment create --vault-name swv --role "Key Vault Crypto Officer" --assignee "sp:$app" --scope / \
    >/dev/null

cat >"$T/azkmd.conf" <<CONF
keystore_dir = $AZKM_KEYSTORE_DIR
audit_log = $AZKM_AUDIT_LOG
domain = $DOMAIN
listen_unix = $T/azkmd.sock mode=0600
listen_tls = 127.0.0.1:0
tls_certificate = $T/server.crt
tls_key = $T/server.key
tls_client_ca = $T/client-ca.crt
threads = 1
shutdown_grace = 1
# one caller sends thousands of requests a second here: throttling (default 1000/s per caller) would be measured
rate_limit = 0
max_connections = 0
CONF
pin=()
[ "$SERVER_CPU" -lt 0 ] || pin=(taskset -c "$SERVER_CPU")
# shellcheck disable=SC2086
"${pin[@]}" ${AZKMD_BENCH_WRAPPER:-} "$azkmd" --config "$T/azkmd.conf" >"$T/azkmd.log" 2>&1 &
PID=$!
for _ in $(seq 300); do
    grep -q '^azkmd: ready' "$T/azkmd.log" && break
    kill -0 "$PID" 2>/dev/null || { cat "$T/azkmd.log" >&2; exit 1; }
    sleep 0.1
done
port=$(sed -n 's/^azkmd: listening on https:.*(port \([0-9]*\)).*/\1/p' "$T/azkmd.log")
[ -n "$port" ] || { echo "azkmd.sh: azkmd did not start:" >&2; cat "$T/azkmd.log" >&2; exit 1; }

server_pid() { # azkmd itself, also when started under a wrapper
    pgrep -n -f "azkmd --config $T/azkmd.conf" || echo "$PID"
}
echo "azkmd-bench: server pinned to CPU $SERVER_CPU (1 worker thread), clients on CPU $CLIENT_CPU," \
    "in-process on CPU $SERVER_CPU; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
${AZKMD_BENCH_CLIENT_WRAPPER:-} "$client" --keystore "$AZKM_KEYSTORE_DIR" --pem-dir "$T/keys" --vault swv --domain "$DOMAIN" \
    --unix "$T/azkmd.sock" --tls "127.0.0.1:$port" --cacert "$T/server-ca.crt" --cert "$T/client.crt" \
    --key "$T/client.key" --server-pid "$(server_pid)" --server-cpu "$SERVER_CPU" --client-cpu "$CLIENT_CPU" "$@"
kill -0 "$PID" 2>/dev/null || { echo "azkmd.sh: azkmd died during the benchmark:" >&2; tail "$T/azkmd.log" >&2; exit 1; }
