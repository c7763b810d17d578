# shellcheck shell=bash
# Shared by the remote-vault scenarios (sourced): the azkmd of tests/server/lib.sh (keystore $T/keystore with vault
# "web", Unix socket $T/azkmd.sock) with keys made there, and a second keystore, $CLIENT, whose vault "web" is a
# remote vault pointing at that socket. client runs the azkm CLI on it; with_provider runs a command with OpenSSL
# configured to load the azkm provider on it.
# This folder, absolute: the scenarios run in $T.
REMOTE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$REMOTE_DIR/../server/lib.sh"

: "${AZKM_PROVIDER_DIR:?AZKM_PROVIDER_DIR must name the directory of azkm.so}"
CLIENT=$T/client
mkdir -m 700 "$CLIENT"

client() {
    AZKM_KEYSTORE_DIR=$CLIENT AZKM_AUDIT_LOG=$T/client-audit.log "$AZKM" "$@"
}

provider_cnf "$CLIENT"

with_provider() {
    OPENSSL_CONF="$T/openssl.cnf" OPENSSL_MODULES="$AZKM_PROVIDER_DIR" AZKM_KEYSTORE_DIR=$CLIENT "$@"
}

# should_fail REGEX CMD...: CMD fails and its stderr matches REGEX.
should_fail() {
    local re=$1 rc=0
    shift
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" != 0 ] || fail "expected a failure: $*"
    grep -Eq -- "$re" "$T/err" || fail "error of '$*' does not match /$re/: $(cat "$T/err")"
}

# server_keys: RSA-2048 "web-rsa" and EC P-256 "web-ec" in azkmd's vault, their public keys as $T/rsa.pub.pem and
# $T/ec.pub.pem (from the server's keystore, not through the remote vault).
server_keys() {
    "$AZKM" key create --vault-name web --name web-rsa --kty RSA --size 2048 >/dev/null || fail "create web-rsa"
    "$AZKM" key create --vault-name web --name web-ec --kty EC --curve P-256 >/dev/null || fail "create web-ec"
    "$AZKM" key download --vault-name web --name web-rsa --file "$T/rsa.pub.pem" >/dev/null || fail "download"
    "$AZKM" key download --vault-name web --name web-ec --file "$T/ec.pub.pem" >/dev/null || fail "download"
}
