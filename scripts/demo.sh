#!/usr/bin/env bash
# Quick start: keyless TLS on this machine in one command. Installs the Debian packages (scripts/setup.sh), builds
# azkm (scripts/build.sh), creates a vault with an RSA and an EC key and certificates for them from a demo CA,
# starts nginx on a loopback port with the shipped examples/nginx/nginx.conf (only ports and paths changed), fetches
# a page over TLS with curl --cacert, and prints what that proved. Then the same nginx configuration with the keys
# only in azkmd, the key server: azkmd on a Unix socket of the demo directory with its own keystore, set up by
# examples/azkmd/keyless-setup.sh as shipped, a second nginx whose keystore holds nothing but a remote vault entry,
# each of its handshakes signed by azkmd for the worker's uid. Everything lives in one demo directory, nothing in
# system directories, no systemd. Re-running starts over. Both nginx and azkmd keep running until `demo.sh --stop`.
#
#   bash scripts/demo.sh            # everything
#   bash scripts/demo.sh --stop     # stop the demo's nginx
#
# Environment: AZKM_DEMO_DIR (default /tmp/azkm-demo), AZKM_DEMO_PORT (default 8443, or a free port if taken),
# AZKM_DEMO_STOP=1 (stop nginx at the end), AZKM_DEMO_SKIP_SETUP=1 (packages and build already there: the test
# server_demo_quickstart uses it), AZKM_BUILD_DIR (default build/), AZKM_DEMO_INSTALLED=1 (no build: the installed
# azkm on PATH, azkm.so from OpenSSL's modules directory and the files of /etc/azkm, as the Debian package puts them;
# tests/package/deb_install.sh uses it).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZKM_BUILD_DIR:-$top/build}
demo=${AZKM_DEMO_DIR:-/tmp/azkm-demo}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
    echo "demo.sh: $*" >&2
    [ -s "$demo/logs/error.log" ] && tail -n 20 "$demo/logs/error.log" >&2
    exit 1
}

# stop_pid PIDFILE SIGNAL: the process of PIDFILE stopped (at most 5 s, then killed).
stop_pid() {
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-$2" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}
# The second web server's root (its /etc/azkm, logs, pid file and pages), whose keys live in azkmd.
remote=$demo/azkmd-web
# All three at once: each takes a second or more to finish gracefully.
stop_nginx() {
    stop_pid "$demo/run/nginx.pid" QUIT &
    stop_pid "$remote/run/nginx.pid" QUIT &
    stop_pid "$demo/run/azkmd.pid" TERM &
    wait
}

if [ "${1:-}" = --stop ]; then
    stop_nginx
    echo "demo nginx and azkmd stopped"
    exit 0
fi

installed=${AZKM_DEMO_INSTALLED:-0}
conf=$top/conf
if [ "$installed" = 1 ]; then
    azkm_bin=$(command -v azkm) || die "AZKM_DEMO_INSTALLED=1, but no azkm on PATH"
    azkmd_bin=$(command -v azkmd) || die "AZKM_DEMO_INSTALLED=1, but no azkmd on PATH"
    conf=/etc/azkm
    [ -f "$conf/azkm-provider.cnf" ] || die "AZKM_DEMO_INSTALLED=1, but $conf/azkm-provider.cnf is missing"
else
    if [ "${AZKM_DEMO_SKIP_SETUP:-0}" != 1 ]; then
        say "installing packages and building (scripts/setup.sh, scripts/build.sh)"
        bash "$top/scripts/setup.sh"
        AZKM_BUILD_DIR=$build bash "$top/scripts/build.sh"
    fi
    azkm_bin=$build/cli/azkm
    azkmd_bin=$build/server/azkmd
    [ -x "$azkm_bin" ] && [ -f "$build/provider/azkm.so" ] || die "azkm is not built in $build (run scripts/build.sh)"
fi

say "a fresh demo machine in $demo"
stop_nginx
rm -rf "$demo"
mkdir -p "$demo/etc/azkm/tls" "$demo/ca" "$demo/logs" "$demo/run" "$demo/nginx" "$demo/www/html"
# nginx workers run as www-data (when started as root) and must reach the page below $demo.
chmod 755 "$demo"
echo "Hello from nginx: this TLS connection was signed by a key that lives in an azkm vault." \
    >"$demo/www/html/index.html"
chmod -R a+rX "$demo/www"

port=${AZKM_DEMO_PORT:-8443}
# 0, or a port someone else listens on: take a free one.
if [ "$port" = 0 ] || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    port=$(bash "$top/scripts/free-port.sh")
fi
render() { bash "$top/scripts/render-example.sh" "$1" "$2" "$demo" "$port"; }

# The server environment as docs/keyless-tls.md installs it (conf/azkm-server.env, conf/azkm-provider.cnf), with
# the freshly built azkm.so instead of an installed one (unless AZKM_DEMO_INSTALLED=1).
render "$conf/azkm-provider.cnf" "$demo/etc/azkm/azkm-provider.cnf"
render "$conf/azkm-server.env" "$demo/etc/azkm/azkm-server.env"
set -a
# shellcheck disable=SC1091
. "$demo/etc/azkm/azkm-server.env"
set +a
[ "$installed" = 1 ] || export OPENSSL_MODULES=$build/provider
azkm() { "$azkm_bin" "$@"; }
plain() { OPENSSL_CONF=/dev/null OPENSSL_MODULES='' openssl "$@"; }

say "vault 'web' with keys web-rsa (RSA 2048) and web-ec (EC P-256)"
azkm vault create --name web >/dev/null
azkm key create --vault-name web --name web-rsa --kty RSA --size 2048 --output json >/dev/null
azkm key create --vault-name web --name web-ec --kty EC --curve P-256 --output json >/dev/null
azkm key list --vault-name web

say "a demo CA, and certificates for both keys (each CSR signed by the vault key through the azkm provider)"
plain req -x509 -newkey rsa:2048 -nodes -keyout "$demo/ca/ca.key" -subj "/CN=azkm demo CA" -days 30 \
    -out "$demo/ca/ca.crt" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$demo/ca/san.cnf"
for key in web-rsa web-ec; do
    openssl req -new -key "azkm://web/keys/$key" -subj "/O=azkm demo/CN=localhost" -out "$demo/ca/$key.csr"
    plain x509 -req -in "$demo/ca/$key.csr" -CA "$demo/ca/ca.crt" -CAkey "$demo/ca/ca.key" -CAcreateserial \
        -days 30 -extfile "$demo/ca/san.cnf" -out "$demo/etc/azkm/tls/$key.crt" 2>/dev/null
    # The key reference file nginx reads as ssl_certificate_key: the key's URI and nothing else.
    azkm key ref --vault-name web --name "$key" --file "$demo/etc/azkm/tls/$key.ref.pem" >/dev/null
done
cat "$demo/etc/azkm/tls/web-rsa.ref.pem"

say "nginx $(nginx -v 2>&1 | sed 's|.*/||') on 127.0.0.1:$port with examples/nginx/nginx.conf"
render "$top/examples/nginx/nginx.conf" "$demo/nginx.conf"
nginx -c "$demo/nginx.conf" -e "$demo/logs/error.log" 2>"$demo/logs/start.err" ||
    die "nginx did not start: $(cat "$demo/logs/start.err")"
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

say "curl --cacert ca.crt https://localhost:$port/"
page=$(OPENSSL_CONF=/dev/null curl -sS --cacert "$demo/ca/ca.crt" --resolve "localhost:$port:127.0.0.1" \
    "https://localhost:$port/") || die "curl failed"
echo "$page"
for sig in rsa_pss_rsae_sha256 ecdsa_secp256r1_sha256; do
    printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=/dev/null openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile "$demo/ca/ca.crt" -verify_return_error -sigalgs $sig -ign_eof \
        >"$demo/logs/s_client.$sig" 2>&1 || die "s_client with $sig failed: $(tail -5 "$demo/logs/s_client.$sig")"
done
proto=$(grep -m1 -oE "TLSv1\.[23]" "$demo/logs/s_client.rsa_pss_rsae_sha256")

say "what this proved"
workers=$(ps -o user= --ppid "$(cat "$demo/run/nginx.pid")" | sort | uniq -c | sed 's/^ *//')
keyfiles=$(grep -rlE "BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY" "$demo/etc" "$demo/www" 2>/dev/null || true)
cat <<EOF
- nginx served https://localhost:$port/ over $proto, and curl verified its certificate against the demo CA;
- both certificates work side by side: openssl s_client verified an RSA-PSS and an ECDSA handshake;
- each handshake was signed by a key in the azkm vault $demo/ks/web (sealed with AES-256-GCM): nginx's
  ssl_certificate_key files hold only the key's URI ($(openssl asn1parse -in "$demo/etc/azkm/tls/web-ec.ref.pem" 2>/dev/null | grep -o 'azkm://[^ ]*' || echo "azkm://web/keys/web-ec"));
- no private key file is among the server's files: ${keyfiles:-none found under $demo/etc and $demo/www}
  (the demo CA's own key is in $demo/ca, as a CA's key would be elsewhere);
- nginx workers: ${workers//$'\n'/, }.
EOF

say "the same nginx.conf with the keys only in azkmd (examples/azkmd/keyless-setup.sh)"
# azkmd with its own keystore on a Unix socket of the demo directory: 0666 so that the workers reach it without the
# group an installation gives them (docs/keyless-tls.md, step 7: 0660, group azkm); their role assignment on each
# key is what lets them use it.
mkdir -p "$demo/azkmd" "$remote/etc/azkm/tls" "$remote/logs" "$remote/run" "$remote/nginx" "$remote/www/html"
chmod 755 "$demo/run"
cat >"$demo/azkmd/azkmd.conf" <<EOF
keystore_dir = $demo/azkmd/ks
audit_log = $demo/azkmd/audit.log
domain = vault.azkm.localhost
listen_unix = $demo/run/azkmd.sock mode=0666
threads = 2
shutdown_grace = 1
EOF
AZKM_KEYSTORE_DIR=$demo/azkmd/ks azkm vault create --name web >/dev/null
"$azkmd_bin" --config "$demo/azkmd/azkmd.conf" >"$demo/logs/azkmd.log" 2>&1 </dev/null &
echo $! >"$demo/run/azkmd.pid"
for _ in $(seq 100); do
    grep -q '^azkmd: ready' "$demo/logs/azkmd.log" && break
    kill -0 "$(cat "$demo/run/azkmd.pid")" 2>/dev/null || die "azkmd exited: $(cat "$demo/logs/azkmd.log")"
    sleep 0.1
done
grep -q '^azkmd: ready' "$demo/logs/azkmd.log" || die "azkmd is not ready: $(cat "$demo/logs/azkmd.log")"
web_user=$([ "$(id -u)" = 0 ] && echo www-data || id -un)
port2=$(bash "$top/scripts/free-port.sh")
render2() { bash "$top/scripts/render-example.sh" "$1" "$2" "$remote" "$port2"; }
render2 "$top/examples/azkmd/keyless-setup.sh" "$demo/azkmd/keyless-setup.sh"
PATH="$(dirname "$azkm_bin"):$PATH" AZKM_KEYSTORE_DIR=$remote/ks AZKMD_KEYSTORE=$demo/azkmd/ks \
    AZKMD_SOCKET=$demo/run/azkmd.sock AZKMD_USER=$(id -un) WEB_USER=$web_user \
    bash "$demo/azkmd/keyless-setup.sh" 2>"$demo/logs/keyless-setup.err" ||
    die "keyless-setup.sh failed: $(cat "$demo/logs/keyless-setup.err")"
echo "Hello from nginx: this TLS connection was signed by azkmd; this server holds no key." \
    >"$remote/www/html/index.html"
chmod -R a+rX "$remote/www"
render2 "$top/examples/nginx/nginx.conf" "$demo/nginx-azkmd.conf"
AZKM_KEYSTORE_DIR=$remote/ks nginx -c "$demo/nginx-azkmd.conf" -e "$remote/logs/error.log" \
    2>"$remote/logs/start.err" || die "nginx (keys in azkmd) did not start: $(cat "$remote/logs/start.err")"
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port2") 2>/dev/null && break
    sleep 0.1
done
cat "$remote/etc/azkm/tls/web-rsa.crt" "$remote/etc/azkm/tls/web-ec.crt" >"$demo/azkmd/trust.pem"
web_uid=$(id -u "$web_user")
signs() { # azkmd's successful signatures for the workers' uid
    grep '"operationName":"KeySign","resultType":"Success"' "$demo/azkmd/audit.log" | grep -c "\"uid:$web_uid\"" || true
}
before=$(signs)
for ciphers in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES128-GCM-SHA256; do
    page2=$(OPENSSL_CONF=/dev/null curl -sS --cacert "$demo/azkmd/trust.pem" --tls-max 1.2 --ciphers $ciphers \
        --resolve "localhost:$port2:127.0.0.1" "https://localhost:$port2/" 2>"$demo/logs/curl2.err") ||
        die "curl to the nginx with its keys in azkmd ($ciphers) failed: $(cat "$demo/logs/curl2.err")"
done
echo "$page2"
signed=$(($(signs) - before))
[ "$signed" -ge 2 ] || die "azkmd's audit log has $signed signatures for the 2 handshakes"
remote_keys=$(grep -rlE "PRIVATE KEY" "$remote" 2>/dev/null || true)
cat <<EOF
- the key lives in azkmd and the handshake succeeded: nginx on https://localhost:$port2/ served an RSA and an
  ECDSA handshake, each signed by azkmd ($signed KeySign records for uid $web_uid ($web_user) in
  $demo/azkmd/audit.log); nginx's keystore $remote/ks holds only the remote vault entry
  web/remote.json, pointing at unix:$demo/run/azkmd.sock, and no private key file is among its files:
  ${remote_keys:-none found under $remote}.
EOF

if [ "${AZKM_DEMO_STOP:-0}" = 1 ]; then
    stop_nginx
    echo
    echo "nginx and azkmd stopped."
else
    cat <<EOF

nginx keeps running on https://localhost:$port/ (try: curl --cacert $demo/ca/ca.crt https://localhost:$port/),
and with its keys in azkmd on https://localhost:$port2/ (curl --cacert $demo/azkmd/trust.pem ...).
Stop it with:  $([ "$demo" = /tmp/azkm-demo ] || echo "AZKM_DEMO_DIR=$demo ")bash $top/scripts/demo.sh --stop
Next: docs/keyless-tls.md (both tiers, key rotation, systemd and Apache; keys in azkmd: step 7).
EOF
fi
