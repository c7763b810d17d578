# shellcheck shell=bash
# Shared by the keyless-TLS server scenarios (sourced, not run): a temporary "machine" laid out like the one in
# docs/keyless-tls.md (/etc/azkm, /var/lib/azkm, /var/log/..., /var/www moved under $T), a test CA, a vault in the
# software or HSM tier (a SoftHSM token in $T), and real nginx / Apache started from the files in examples/,
# rendered with render_example, which changes only ports and directories. Servers are stopped on exit.
# ctest provides AZKM (the azkm CLI), AZKM_PROVIDER_DIR (directory of azkm.so) and AZKM_TOP (the source tree).
set -euo pipefail

: "${AZKM:?}" "${AZKM_PROVIDER_DIR:?}" "${AZKM_TOP:?}"

SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
APACHE_MODULES=/usr/lib/apache2/modules
# Debian's unprivileged web user: the workers run as it, as they do with the shipped configurations.
WORKER_USER=www-data

T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-srv.XXXXXX")
# Workers (www-data) must reach the document root and, in the HSM tier, the token directory below $T.
chmod 755 "$T"
PORT=
SERVER=
cleanup() {
    stop_server || true
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T"

fail() {
    echo "FAIL: $*" >&2
    [ -s "$T/logs/error.log" ] && { echo "--- server error log:" >&2; tail -n 30 "$T/logs/error.log" >&2; }
    exit 1
}

step() {
    echo "== $*"
}

[ "$(id -u)" = 0 ] || fail "these tests start servers whose workers run as $WORKER_USER: run them as root"
for tool in nginx apache2 curl softhsm2-util openssl; do
    command -v $tool >/dev/null || fail "$tool is not installed (scripts/setup.sh installs it)"
done

# The admin's azkm CLI. It reads the same keystore and token as the servers.
azkm() {
    "$AZKM" "$@"
}

# The default provider alone: the independent client and CA.
plain() {
    OPENSSL_CONF=/dev/null OPENSSL_MODULES='' openssl "$@"
}

mkdir -p "$T/etc/azkm/tls" "$T/logs" "$T/run" "$T/nginx" "$T/www/html" "$T/softhsm/tokens"
echo "keyless TLS by azkm" >"$T/www/html/index.html"
chmod -R a+rX "$T/www"

# render_example <file in the source tree> <output>: the shipped file with the machine's directories moved into $T
# and port 443 replaced by $PORT (scripts/render-example.sh). Nothing else changes, so what the tests run is what
# the examples say.
render_example() {
    bash "$AZKM_TOP/scripts/render-example.sh" "$AZKM_TOP/$1" "$2" "$T" "${PORT:-443}"
}

# The server environment as docs/keyless-tls.md installs it: conf/azkm-server.env, pointing at
# conf/azkm-provider.cnf. OPENSSL_MODULES points at the freshly built azkm.so instead of an installed one.
render_example conf/azkm-provider.cnf "$T/etc/azkm/azkm-provider.cnf"
render_example conf/azkm-server.env "$T/etc/azkm/azkm-server.env"
set -a
# shellcheck disable=SC1091
. "$T/etc/azkm/azkm-server.env"
set +a
export OPENSSL_MODULES="$AZKM_PROVIDER_DIR"

# ---- the vault ------------------------------------------------------------------------------------------------

# make_vault <software|hsm>: vault "web" with keys web-rsa (RSA 2048) and web-ec (EC P-256), in the given tier.
# HSM tier: a SoftHSM token "web-hsm" in $T/softhsm/tokens, its PIN in a root-only 0600 file.
TIER=
make_vault() {
    TIER=$1
    case $TIER in
    software)
        azkm vault create --name web >/dev/null
        azkm key create --vault-name web --name web-rsa --kty RSA --size 2048 >/dev/null
        azkm key create --vault-name web --name web-ec --kty EC --curve P-256 >/dev/null
        ;;
    hsm)
        [ -e "$SOFTHSM_MODULE" ] || fail "SoftHSM is not installed ($SOFTHSM_MODULE)"
        printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" \
            >"$SOFTHSM2_CONF"
        chmod 644 "$SOFTHSM2_CONF"
        # The token tool needs no provider (azkm-server.env points OPENSSL_CONF at azkm's configuration).
        OPENSSL_CONF=/dev/null softhsm2-util --init-token --free --label web-hsm --pin 4711 --so-pin 87654321 >/dev/null
        printf '4711\n' >"$T/etc/azkm/web-hsm.pin"
        chmod 600 "$T/etc/azkm/web-hsm.pin"
        azkm vault create --name web --hsm-module "$SOFTHSM_MODULE" --hsm-token web-hsm \
            --hsm-pin-source "file:$T/etc/azkm/web-hsm.pin" >/dev/null
        azkm key create --vault-name web --name web-rsa --kty RSA-HSM --size 2048 >/dev/null
        azkm key create --vault-name web --name web-ec --kty EC-HSM --curve P-256 >/dev/null
        grant_token_store
        ;;
    *) fail "unknown tier $TIER" ;;
    esac
}

# The workers re-open the token after fork as www-data. SoftHSM creates its files 0600 for the user who made the
# key (root), so the token directory is handed to the worker user after every key creation or rotation.
grant_token_store() {
    chown -R "$WORKER_USER" "$T/softhsm/tokens"
}

# ---- certificates ---------------------------------------------------------------------------------------------

make_ca() {
    plain req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -subj /CN=azkm-test-ca -days 2 \
        -out "$T/ca.crt" 2>/dev/null
}

# issue_cert <key name>: a CSR signed by the vault key through the provider, a certificate from the test CA, and
# the key reference file, where the examples expect them (/etc/azkm/tls/<key>.crt and <key>.ref.pem).
issue_cert() {
    local key=$1
    openssl req -new -key "azkm://web/keys/$key" -subj "/O=azkm-test/OU=$key/CN=localhost" -out "$T/$key.csr" ||
        fail "no CSR from azkm://web/keys/$key"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/san.cnf"
    plain x509 -req -in "$T/$key.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
        -extfile "$T/san.cnf" -out "$T/etc/azkm/tls/$key.crt" 2>/dev/null || fail "the CA refused the CSR of $key"
    azkm key ref --vault-name web --name "$key" --file "$T/etc/azkm/tls/$key.ref.pem" >/dev/null
}

# setup_machine <tier>: vault, CA, both certificates and reference files.
setup_machine() {
    make_vault "$1"
    make_ca
    issue_cert web-rsa
    issue_cert web-ec
}

# ---- servers ----------------------------------------------------------------------------------------------------

# A free loopback port (scripts/free-port.sh). Another process may take it before the server binds: start_* retry
# with a new port.
pick_port() {
    PORT=$(bash "$AZKM_TOP/scripts/free-port.sh") || fail "no free port"
}

# wait_listening: up to 30 s for a TLS server on $PORT (a loaded 2-core machine can be that slow).
wait_listening() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# start_nginx: examples/nginx/nginx.conf as shipped (rendered; NGINX_WORKERS may change worker_processes), nginx
# daemonising as under systemd. Returns the launcher's status; its stderr goes to $T/logs/start.err. -e: nginx logs
# here until it has read error_log.
start_nginx() {
    local rc
    SERVER=nginx
    for _ in 1 2 3 4 5; do
        pick_port
        render_example examples/nginx/nginx.conf "$T/nginx.conf"
        # NGINX_WORKERS: a test that needs more workers than the example's changes that one line, nothing else.
        [ -z "${NGINX_WORKERS:-}" ] || sed -i "s/^worker_processes .*/worker_processes $NGINX_WORKERS;/" "$T/nginx.conf"
        : >"$T/logs/error.log"
        rc=0
        nginx -c "$T/nginx.conf" -e "$T/logs/error.log" 2>"$T/logs/start.err" || rc=$?
        grep -q "Address already in use" "$T/logs/start.err" || break
    done
    [ "$rc" = 0 ] || return "$rc"
    wait_listening || fail "nginx started but does not listen on $PORT"
}

reload_nginx() {
    nginx -c "$T/nginx.conf" -e "$T/logs/error.log" -s reload
}

# The Apache side of a Debian machine that tests/servers cannot use as is: apache2.conf, ports.conf,
# mods-enabled and envvars. Only this harness is test-specific; the site and the envvars lines are the examples.
write_apache_harness() {
    mkdir -p "$T/apache"
    render_example examples/apache/azkm-keyless-tls.conf "$T/apache/azkm-keyless-tls.conf"
    {
        # Debian's stock /etc/apache2/envvars sets these ...
        echo "export APACHE_RUN_USER=$WORKER_USER APACHE_RUN_GROUP=$WORKER_USER APACHE_LOG_DIR=$T/logs"
        # ... and the shipped lines are appended to it.
        render_example examples/apache/envvars "$T/apache/envvars.azkm"
        cat "$T/apache/envvars.azkm"
    } >"$T/apache/envvars"
    cat >"$T/apache/apache2.conf" <<CONF
ServerRoot $T/apache
ServerName localhost
PidFile $T/run/apache2.pid
DefaultRuntimeDir $T/run
Mutex file:$T/run default
User \${APACHE_RUN_USER}
Group \${APACHE_RUN_GROUP}
ErrorLog \${APACHE_LOG_DIR}/error.log
LogLevel warn
LoadModule mpm_prefork_module $APACHE_MODULES/mod_mpm_prefork.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule dir_module $APACHE_MODULES/mod_dir.so
LoadModule socache_shmcb_module $APACHE_MODULES/mod_socache_shmcb.so
LoadModule ssl_module $APACHE_MODULES/mod_ssl.so
StartServers 2
MinSpareServers 2
MaxSpareServers 4
DirectoryIndex index.html
SSLSessionCache shmcb:$T/run/ssl_scache(512000)
Listen 127.0.0.1:$PORT
Include $T/apache/azkm-keyless-tls.conf
CONF
}

# apachectl's way: source envvars, then httpd. `-k start` returns once the daemon is detached.
apache_ctl() {
    (
        # shellcheck disable=SC1091
        . "$T/apache/envvars"
        apache2 -f "$T/apache/apache2.conf" -k "$1"
    )
}

start_apache() {
    local rc
    SERVER=apache
    for _ in 1 2 3 4 5; do
        pick_port
        write_apache_harness
        : >"$T/logs/error.log"
        rc=0
        apache_ctl start 2>"$T/logs/start.err" || rc=$?
        grep -q "Address already in use" "$T/logs/start.err" "$T/logs/error.log" || break
    done
    [ "$rc" = 0 ] || return "$rc"
    wait_listening || fail "apache started but does not listen on $PORT"
}

# Both servers open their sockets before the detached master writes its pid file: a started server is one that
# listens and has its pid file, so that stop_server always finds what to stop.
start_server() {
    case $1 in
    nginx) start_nginx || return ;;
    apache) start_apache || return ;;
    *) fail "unknown server $1" ;;
    esac
    wait_pidfile || fail "$1 listens on $PORT but wrote no pid file in 30 s"
}

server_pidfile() {
    case $SERVER in
    nginx) echo "$T/run/nginx.pid" ;;
    apache) echo "$T/run/apache2.pid" ;;
    esac
}

wait_pidfile() {
    local pidfile
    pidfile=$(server_pidfile)
    for _ in $(seq 300); do
        [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Stops the server and waits for its master to exit, so that the next test can reuse nothing of it.
stop_server() {
    local pidfile pid=
    [ -n "$SERVER" ] || return 0
    pidfile=$(server_pidfile)
    [ -s "$pidfile" ] && pid=$(cat "$pidfile")
    if [ -n "$pid" ]; then
        case $SERVER in
        nginx) nginx -c "$T/nginx.conf" -e "$T/logs/error.log" -s stop 2>/dev/null || kill "$pid" 2>/dev/null || true ;;
        apache) apache_ctl stop 2>/dev/null || kill "$pid" 2>/dev/null || true ;;
        esac
        # Up to 30 s: a loaded CI machine can be slow to reap Apache's children.
        for _ in $(seq 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # Whatever of this test's server is left (a second master from a start retried on a busy port, children not
    # yet reaped) would make the next start say "already running": end it, and forget its pid file.
    if [ "$SERVER" = apache ]; then
        pkill -9 -f -- "$T/apache/apache2.conf" 2>/dev/null || true
    else
        pkill -9 -f -- "$T/nginx.conf" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    SERVER=
}

# ---- clients ----------------------------------------------------------------------------------------------------

# A client that accepts only signatures of the given key type, so that the server must use that certificate and
# key: an OpenSSL configuration for curl (which reads OPENSSL_CONF), and -sigalgs for s_client.
sigalgs_of() {
    case $1 in
    web-rsa) echo "rsa_pss_rsae_sha256:rsa_pkcs1_sha256" ;;
    web-ec) echo "ecdsa_secp256r1_sha256" ;;
    esac
}

client_conf() {
    local f=$T/client-$1.cnf
    [ -f "$f" ] || printf 'openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\nSignatureAlgorithms = %s\n' \
        "$(sigalgs_of "$1")" >"$f"
    echo "$f"
}

# tls_curl <key> <--tlsv1.2 --tls-max 1.2 | --tlsv1.3> [curl args...]: verified against the test CA only.
tls_curl() {
    local key=$1
    shift
    OPENSSL_CONF=$(client_conf "$key") OPENSSL_MODULES='' curl -sS --cacert "$T/ca.crt" --capath /nonexistent \
        --resolve "localhost:$PORT:127.0.0.1" "$@"
}

# tls_s_client <key> <-tls1_2|-tls1_3> [s_client args...]: one request, full verification, output on stdout.
tls_s_client() {
    local key=$1 proto=$2
    shift 2
    printf 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n' |
        timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$T/ca.crt" \
            -verify_return_error -verify_hostname localhost -sigalgs "$(sigalgs_of "$key")" "$proto" -ign_eof \
            "$@" 2>&1
}

# served_pubkey <key>: the public key of the certificate the server presents for that key type.
served_pubkey() {
    tls_s_client "$1" -tls1_3 -showcerts </dev/null | plain x509 -noout -pubkey 2>/dev/null
}

# vault_pubkey <key>: the current version's public key, as the vault has it.
vault_pubkey() {
    azkm key download --vault-name web --name "$1" --file "$T/$1.pub.pem" >/dev/null
    plain pkey -pubin -in "$T/$1.pub.pem"
}
