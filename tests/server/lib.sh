# shellcheck shell=bash
# Shared by the azkmd scenarios (sourced, not run): a fresh keystore with vault "web" in a temporary directory, an
# azkmd started from a configuration written by the test (Unix socket, optionally TLS on a loopback port), and
# helpers to call it with curl, read its answers and its audit log, and check results with the openssl CLI alone.
# ctest provides AZKMD (the server), AZKM (the CLI) and AZKM_TOP (the source tree). azkmd is stopped on exit.
set -euo pipefail

: "${AZKMD:?AZKMD must name the azkmd binary}" "${AZKM:?AZKM must name the azkm binary}" "${AZKM_TOP:?}"

# This folder (the scenarios' tables and helpers), absolute: the scenarios run in $T.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/azkmd-test.XXXXXX")
# Other users (the unauthorized-caller scenario runs curl as nobody) must reach the socket below $T.
chmod 755 "$T"
export AZKM_KEYSTORE_DIR="$T/keystore" AZKM_AUDIT_LOG="$T/audit.log"
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config"
unset AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE
mkdir -p "$HOME"
cd "$T"

DOMAIN=vault.azkm.localhost
VAULT=web
SOCK="$T/azkmd.sock"
AZKMD_PID=
API=7.6

stop_azkmd() {
    [ -n "$AZKMD_PID" ] || return 0
    kill -TERM "$AZKMD_PID" 2>/dev/null || true
    wait "$AZKMD_PID" 2>/dev/null || true
    AZKMD_PID=
}
cleanup() {
    stop_azkmd
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [ -s "$T/azkmd.log" ] && { echo "--- azkmd log:" >&2; tail -n 20 "$T/azkmd.log" >&2; }
    [ -s "$T/body" ] && { echo "--- last response body:" >&2; head -c 2000 "$T/body" >&2; echo >&2; }
    exit 1
}

step() {
    echo "== $*"
}

# The protection tier of vault "web" (ctest registers some scenarios once per tier): software keys, or keys on a
# SoftHSM token made for the test. Scenarios name key types as $RSA, $EC and $OCT.
AZKMD_TEST_TIER=${AZKMD_TEST_TIER:-software}
case "$AZKMD_TEST_TIER" in
software)
    RSA=RSA EC=EC OCT=oct
    "$AZKM" vault create --name "$VAULT" >/dev/null || fail "cannot create vault $VAULT"
    ;;
hsm)
    # shellcheck disable=SC1091
    . "$HERE/../softhsm.sh"
    softhsm_init "$T/hsm" azkmd-test
    RSA=RSA-HSM EC=EC-HSM OCT=oct-HSM
    "$AZKM" vault create --name "$VAULT" --hsm-module "$HSM_MODULE" --hsm-token azkmd-test \
        --hsm-pin-source "file:$HSM_PIN_FILE" >/dev/null || fail "cannot create vault $VAULT on the token"
    ;;
*) fail "AZKMD_TEST_TIER must be software or hsm, not '$AZKMD_TEST_TIER'" ;;
esac
echo "== tier: $AZKMD_TEST_TIER"

# write_config [extra lines...]: azkmd.conf with the test's keystore, audit log and Unix socket, plus the lines given.
write_config() {
    {
        echo "keystore_dir = $AZKM_KEYSTORE_DIR"
        echo "audit_log = $AZKM_AUDIT_LOG"
        echo "domain = $DOMAIN"
        echo "listen_unix = $SOCK mode=0600"
        echo "threads = ${AZKMD_TEST_THREADS:-2}"
        echo "shutdown_grace = 1"
        printf '%s\n' "$@"
    } >"$T/azkmd.conf"
}

# start_azkmd: starts azkmd on $T/azkmd.conf and waits (at most 10 s) until it says it is ready.
start_azkmd() {
    # Emptied before the job starts: its own redirection may come after the loop below read a previous run's log.
    : >"$T/azkmd.log"
    "$AZKMD" --config "$T/azkmd.conf" >"$T/azkmd.log" 2>&1 &
    AZKMD_PID=$!
    for _ in $(seq 100); do
        grep -q '^azkmd: ready' "$T/azkmd.log" && return 0
        kill -0 "$AZKMD_PID" 2>/dev/null || fail "azkmd exited at startup"
        sleep 0.1
    done
    fail "azkmd not ready after 10 s"
}

# call METHOD PATH [JSON]: one request over the Unix socket to $VAULT; sets STATUS, the body is in $T/body.
# Extra curl arguments can be given in the CURL_EXTRA array.
CURL_EXTRA=()
CALLS=0
call() {
    local method=$1 path=$2 data=${3-}
    CALLS=$((CALLS + 1))
    local args=(-sS --max-time 10 --unix-socket "$SOCK" -o "$T/body" -w '%{http_code}' -X "$method" -D "$T/headers")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    STATUS=$(curl "${args[@]}" "${CURL_EXTRA[@]}" "http://$VAULT.$DOMAIN$path") || fail "curl $method $path failed"
}

# expect STATUS [ERROR_CODE]: the last call's status, and its Key Vault error code when given.
expect() {
    [ "$STATUS" = "$1" ] || fail "expected HTTP $1, got $STATUS"
    if [ -n "${2-}" ]; then
        [ "$(jq -r .error.code "$T/body")" = "$2" ] || fail "expected error code $2"
    fi
}

field() {
    jq -r "$1" "$T/body"
}

# b64url_decode TEXT OUTFILE / b64url_encode FILE: base64url (unpadded) without azkm.
b64url_decode() {
    local s=${1//-/+}
    s=${s//_//}
    while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
    printf '%s' "$s" | base64 -d >"$2"
}
b64url_encode() {
    base64 -w0 "$1" | tr '+/' '-_' | tr -d '='
}
hex_to_file() {
    printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" >"$2"
}
hex_of() {
    od -An -tx1 -v "$1" | tr -d ' \n'
}

# jwk_to_pem OUTFILE: the public key of the last response's JWK (.key) as a PEM file, built with openssl alone.
jwk_to_pem() {
    local kty n e x y
    kty=$(field .key.kty)
    case "$kty" in
    RSA | RSA-HSM)
        b64url_decode "$(field .key.n)" "$T/n.bin"
        b64url_decode "$(field .key.e)" "$T/e.bin"
        printf 'asn1=SEQUENCE:k\n[k]\nn=INTEGER:0x%s\ne=INTEGER:0x%s\n' "$(hex_of "$T/n.bin")" "$(hex_of "$T/e.bin")" \
            >"$T/rsa.cnf"
        openssl asn1parse -genconf "$T/rsa.cnf" -out "$T/rsa.der" >/dev/null
        openssl rsa -RSAPublicKey_in -inform DER -in "$T/rsa.der" -pubout -out "$1" 2>/dev/null
        ;;
    EC | EC-HSM)
        [ "$(field .key.crv)" = P-256 ] || fail "jwk_to_pem handles P-256 only"
        b64url_decode "$(field .key.x)" "$T/x.bin"
        b64url_decode "$(field .key.y)" "$T/y.bin"
        x=$(hex_of "$T/x.bin")
        y=$(hex_of "$T/y.bin")
        # SubjectPublicKeyInfo of id-ecPublicKey, prime256v1, then the uncompressed point.
        hex_to_file "3059301306072a8648ce3d020106082a8648ce3d03010703420004$x$y" "$T/ec.der"
        openssl pkey -pubin -inform DER -in "$T/ec.der" -out "$1"
        ;;
    *) fail "jwk_to_pem: kty $kty" ;;
    esac
}

# raw_to_der RAWFILE DERFILE: an ECDSA signature r||s as X9.62 DER, for openssl.
raw_to_der() {
    local hex half
    hex=$(hex_of "$1")
    half=$((${#hex} / 2))
    printf 'asn1=SEQUENCE:s\n[s]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "${hex:0:$half}" "${hex:$half}" >"$T/sig.cnf"
    openssl asn1parse -genconf "$T/sig.cnf" -out "$2" >/dev/null
}

# audit_last: the newest azkmd record (category AuditEvent) of the audit log, as JSON.
# ---- certificates: openssl without azkm's configuration, P-256 keys, valid for two days ----
plain() {
    OPENSSL_CONF=/dev/null openssl "$@"
}
ca() { # ca NAME: a self-signed CA
    plain req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
        -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
issue() { # issue CA NAME SUBJECT EXT: a certificate NAME signed by CA
    plain req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" -keyout "$T/$2.key" \
        -out "$T/$2.csr" 2>/dev/null
    printf '%s\n' "$4" >"$T/$2.ext"
    plain x509 -req -in "$T/$2.csr" -CA "$T/$1.crt" -CAkey "$T/$1.key" -CAcreateserial -days 2 \
        -extfile "$T/$2.ext" -out "$T/$2.crt" 2>/dev/null
}

# provider_cnf KEYSTORE: $T/openssl.cnf, OpenSSL's default provider and azkm's on that keystore (for OPENSSL_CONF).
provider_cnf() {
    cat >"$T/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
azkm = azkm_sect
[default_sect]
activate = 1
[azkm_sect]
keystore_dir = $1
activate = 1
CNF
}

# tls_port: PORT is the port azkmd's (first) TLS listener took, from its log.
tls_port() {
    PORT=$(sed -n 's/^azkmd: listening on https:.*(port \([0-9]*\)).*/\1/p' "$T/azkmd.log" | head -n 1)
    [ -n "$PORT" ] || fail "no TLS port in the log"
}

audit_last() {
    jq -c 'select(.category == "AuditEvent")' "$AZKM_AUDIT_LOG" | tail -n 1
}
audit_count() {
    jq -c 'select(.category == "AuditEvent")' "$AZKM_AUDIT_LOG" | wc -l
}
# expect_audit STATUS OPERATION: the newest record is of this request.
expect_audit() {
    local rec
    rec=$(audit_last)
    [ "$(jq -r .httpStatusCode <<<"$rec")" = "$1" ] || fail "audit: status not $1 in $rec"
    [ "$(jq -r .operationName <<<"$rec")" = "$2" ] || fail "audit: operation not $2 in $rec"
    [ "$(jq -r .requestId <<<"$rec")" = "$(grep -i '^x-ms-request-id:' "$T/headers" | tr -d '\r' | cut -d' ' -f2)" ] ||
        fail "audit: request id differs from the response's x-ms-request-id"
}
