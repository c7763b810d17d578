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

# ---- keyless TLS as shipped: examples/azkmd/keyless-setup.sh and examples/nginx/nginx.conf, rendered for ports and
# directories as tests/servers do (remote_nginx_azkmd.sh, remote_revoked_role.sh). Needs root: the workers run as
# www-data.

# render EXAMPLE OUT: the example with /etc, /var and the port moved into $T.
render() { bash "$AZKM_TOP/scripts/render-example.sh" "$AZKM_TOP/$1" "$2" "$T" "${PORT:-443}"; }

# keyless_setup: azkmd started with its socket 0666 (the example's is 0660, group azkm: here any user reaches it,
# and what refuses one is its role assignments, not the file mode), then examples/azkmd/keyless-setup.sh: keys
# web-rsa and web-ec in azkmd with a role for www-data on each, the remote vault "web" of $CLIENT, certificates
# (trusted by $T/trust.pem) and reference files in $T/etc/azkm/tls; $PORT is nginx's.
keyless_setup() {
    command -v nginx >/dev/null || fail "nginx is not installed (scripts/setup.sh installs it)"
    [ "$(id -u)" = 0 ] || fail "nginx's workers run as www-data: run this test as root"
    write_config
    sed -i 's/ mode=0600$/ mode=0666/' "$T/azkmd.conf"
    start_azkmd
    step "examples/azkmd/keyless-setup.sh: keys and roles in azkmd, the remote vault and certificates for nginx"
    mkdir -p "$T/etc/azkm/tls" "$T/logs" "$T/run" "$T/nginx" "$T/www/html"
    echo "keyless TLS by azkmd" >"$T/www/html/index.html"
    chmod -R a+rX "$T/www"
    render examples/azkmd/keyless-setup.sh "$T/keyless-setup.sh"
    PATH="$(dirname "$AZKM"):$PATH" AZKMD_KEYSTORE=$AZKM_KEYSTORE_DIR AZKMD_SOCKET=$SOCK AZKMD_USER=root \
        with_provider bash "$T/keyless-setup.sh" 2>"$T/setup.err" || fail "keyless-setup.sh: $(cat "$T/setup.err")"
    keyless_files_written keyless-setup.sh
}

# server ARGS...: the azkm CLI on azkmd's own keystore (client ARGS... is the same through the remote vault).
server() { "$AZKM" "$@"; }
# same A B WHAT: two JSON documents (files) are equal once keys are sorted.
same() {
    diff <(jq -S . "$1") <(jq -S . "$2") >"$T/diff" || fail "$3: remote and server differ: $(cat "$T/diff")"
}

# keyless_files_written SCRIPT: SCRIPT wrote both keys' certificates and key reference files, and no private key,
# into /etc/azkm/tls; trust.pem holds the certificates; PORT is nginx's, and nginx is stopped at exit.
keyless_files_written() {
    for f in web-rsa.crt web-ec.crt web-rsa.ref.pem web-ec.ref.pem; do
        [ -s "$T/etc/azkm/tls/$f" ] || fail "$1 wrote no /etc/azkm/tls/$f"
    done
    ! grep -q "PRIVATE KEY" "$T"/etc/azkm/tls/* || fail "a private key in /etc/azkm/tls"
    cat "$T/etc/azkm/tls/web-rsa.crt" "$T/etc/azkm/tls/web-ec.crt" >"$T/trust.pem"
    PORT=$(bash "$AZKM_TOP/scripts/free-port.sh")
    trap 'stop_nginx; cleanup' EXIT
}

# start_nginx USER: examples/nginx/nginx.conf, its workers run as USER (the example's is www-data).
start_nginx() {
    render examples/nginx/nginx.conf "$T/nginx.conf"
    sed -i "s/^user www-data;/user $1;/" "$T/nginx.conf"
    : >"$T/logs/error.log"
    with_provider nginx -c "$T/nginx.conf" -e "$T/logs/error.log" 2>"$T/nginx.err" ||
        fail "nginx did not start: $(cat "$T/nginx.err" "$T/logs/error.log")"
    for _ in $(seq 300); do
        [ -s "$T/run/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "nginx does not listen on $PORT"
}

stop_nginx() {
    local pid
    [ -s "$T/run/nginx.pid" ] || return 0
    pid=$(cat "$T/run/nginx.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$T/run/nginx.pid"
}

# get CURL-ARGS...: one request on a new TLS connection to nginx (or Apache) on $PORT; prints the body.
get() {
    curl -sS --max-time 5 --cacert "$T/trust.pem" "$@" "https://localhost:$PORT/" --resolve "localhost:$PORT:127.0.0.1" \
        2>"$T/curl.err"
}

# signs_by UID: azkmd's successful KeySign records for that Unix peer.
signs_by() {
    jq -c --arg p "uid:$1" 'select(.category == "AuditEvent" and .operationName == "KeySign" and
        .httpStatusCode == 200 and (.identity.principals | index($p)))' "$AZKM_AUDIT_LOG" | wc -l
}

# wait_log REGEX: nginx's error log matches REGEX within 10 s (a worker sends its alert before it writes the log:
# the client may see the failure first).
wait_log() {
    for _ in $(seq 100); do
        grep -Eq -- "$1" "$T/logs/error.log" && return 0
        sleep 0.1
    done
    return 1
}
