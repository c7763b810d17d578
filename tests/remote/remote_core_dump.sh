#!/usr/bin/env bash
# The proof that a keyless TLS server holds no key: nginx (one worker) serves TLS with a certificate whose key lives
# in azkmd (a remote vault's key reference); after a few full handshakes gcore dumps its master and its worker, and
# the dumps must not contain the key's private numbers (RSA: d, p and q; EC: the private scalar), searched for by
# tests/hardening/core_dump.c as big-endian bytes, as a BIGNUM's limbs and as a 16-byte piece from their middle.
# The test knows those numbers: it made the key with openssl and imported the PEM file into azkmd's vault.
# The control: the same nginx, the same key imported into a software vault of nginx's own keystore (key reference
# loaded in the process): its worker's dump does contain them, so the search would see a key that is there. Both
# runs use AZKM_SECURE_HEAP_SIZE=0 (with the secure heap the local key's numbers would be kept out of the dump by
# MADV_DONTDUMP, core_dump.sh): the only difference between the runs is where the key is. The public modulus (in
# the certificate) must be in every dump, else the dump proves nothing. RSA-2048 and EC P-256.
# ctest provides CORE_DUMP (core_dump.c) and GCORE besides lib.sh's variables.
. "$(dirname "$0")/lib.sh"
: "${CORE_DUMP:?CORE_DUMP must name the binary of tests/hardening/core_dump.c}" "${GCORE:?GCORE must name gcore (gdb)}"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/setup.sh installs it)"
# (grep without -q: with pipefail, grep -q quitting early would make ldd's SIGPIPE the pipeline's status)
if ldd "$CORE_DUMP" 2>/dev/null | grep libasan >/dev/null; then
    echo "SKIP: built with AddressSanitizer (gcore cannot dump its shadow memory)"
    exit 77
fi

# num PEM NAME: a number from 'openssl pkey -text' as big-endian hex, without the sign byte
num() {
    plain pkey -in "$1" -text -noout |
        awk -v f="$2" '$0 ~ "^" f ":" { on = 1; next } /^[A-Za-z]/ { on = 0 } on' | tr -d ' :\n' | sed 's/^00//'
}

step "keys made by the test: in azkmd's vault (remote) and in a software vault of nginx's keystore (control)"
plain genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null || fail "genpkey RSA"
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null || fail "genpkey EC"
write_config
for k in rsa ec; do
    "$AZKM" key import --vault-name web --name "web-$k" --file "$T/$k.pem" >/dev/null || fail "import $k into azkmd"
done
start_azkmd
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"
client vault create --name local >/dev/null || fail "create the local vault"
ca testca
printf 'subjectAltName=DNS:tls.test\n' >"$T/san.cnf"
for k in rsa ec; do
    client key import --vault-name local --name "web-$k" --file "$T/$k.pem" >/dev/null || fail "import $k locally"
    client key ref --vault-name web --name "web-$k" --file "$T/$k.remote.ref.pem" >/dev/null || fail "ref $k"
    client key ref --vault-name local --name "web-$k" --file "$T/$k.local.ref.pem" >/dev/null || fail "ref $k"
    plain req -new -key "$T/$k.pem" -subj "/CN=tls.test" -out "$T/$k.csr" || fail "CSR $k"
    plain x509 -req -in "$T/$k.csr" -CA "$T/testca.crt" -CAkey "$T/testca.key" -CAcreateserial -days 2 \
        -extfile "$T/san.cnf" -out "$T/$k.crt" 2>/dev/null || fail "issue $k"
done
rm -f "$T"/*.csr
declare -A SECRET
SECRET[rsa-d]=$(num "$T/rsa.pem" privateExponent)
SECRET[rsa-p]=$(num "$T/rsa.pem" prime1)
SECRET[rsa-q]=$(num "$T/rsa.pem" prime2)
SECRET[rsa-n]=$(num "$T/rsa.pem" modulus)
SECRET[ec-priv]=$(num "$T/ec.pem" priv)
SECRET[ec-pub]=$(num "$T/ec.pem" pub | sed 's/^04//') # x || y, in the certificate
for s in "${!SECRET[@]}"; do
    [ "${#SECRET[$s]}" -ge 64 ] || fail "setup: could not extract $s"
done

NGINX_PORT=$(bash "$AZKM_TOP/scripts/free-port.sh")
mkdir -p "$T/nginx"
NGINX=
stop_nginx() {
    [ -n "$NGINX" ] || return 0
    [ -s "$T/nginx.pid" ] && kill -TERM "$(cat "$T/nginx.pid")" 2>/dev/null
    wait "$NGINX" 2>/dev/null || true
    rm -f "$T/nginx.pid"
    NGINX=
}
trap 'stop_nginx; cleanup' EXIT
get() { # get: one request on a new TLS connection (a full handshake); prints the body
    curl -sS --max-time 5 --cacert "$T/testca.crt" --resolve "tls.test:$NGINX_PORT:127.0.0.1" \
        "https://tls.test:$NGINX_PORT/" 2>"$T/curl.err"
}

# start_nginx KEY WHERE: nginx with $KEY.crt and the key reference $KEY.$WHERE.ref.pem, no secure heap.
start_nginx() {
    cat >"$T/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/nginx;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $T/$1.crt;
        ssl_certificate_key $T/$1.$2.ref.pem;
        location / { return 200 "keyless\n"; }
    }
}
CONF
    AZKM_SECURE_HEAP_SIZE=0 with_provider nginx -p "$T/nginx" -c "$T/nginx.conf" &
    NGINX=$!
    for _ in $(seq 300); do
        [ "$(get)" = keyless ] && return 0
        kill -0 "$NGINX" 2>/dev/null || fail "nginx exited: $(tail -n 5 "$T/nginx-error.log")"
        sleep 0.1
    done
    fail "nginx does not answer: $(cat "$T/curl.err")"
}

# dump NAME PID: gcore of PID, searched for the secrets; writes "SECRET HITS" lines to found.NAME.
dump() {
    local s args=() names=()
    "$GCORE" -o "$T/core" "$2" >"$T/gcore.log" 2>&1 || fail "$1: gcore failed: $(tail -n 3 "$T/gcore.log")"
    [ -s "$T/core.$2" ] || fail "$1: gcore wrote no core"
    for s in "${!SECRET[@]}"; do
        names+=("$s")
        args+=("${SECRET[$s]}")
    done
    "$CORE_DUMP" find "$T/core.$2" "${args[@]}" | paste <(printf '%s\n' "${names[@]}") - |
        awk '{ print $1, $4 + $6 + $8 }' >"$T/found.$1" || fail "$1: search failed"
    rm -f "$T/core.$2"
    echo "   $1: $(sort "$T/found.$1" | tr '\n' ' ')"
}
hits() { awk -v s="$2" '$1 == s { print $2 }' "$T/found.$1"; }

failed=0
check() { # check DUMP SECRET absent|present WHY
    local n
    n=$(hits "$1" "$2")
    if { [ "$3" = absent ] && [ "$n" -ne 0 ]; } || { [ "$3" = present ] && [ "$n" -eq 0 ]; }; then
        echo "FAIL  $1: $2 should be $3 ($n hits): $4" >&2
        failed=$((failed + 1))
    else
        echo "ok    $1: $2 $3"
    fi
}

# run KEY WHERE: nginx up, 5 full handshakes, master and worker dumped, nginx down.
run() {
    local master worker
    start_nginx "$1" "$2"
    for i in $(seq 5); do
        [ "$(get)" = keyless ] || fail "$1 $2: request $i: $(cat "$T/curl.err")"
    done
    master=$(cat "$T/nginx.pid")
    worker=$(pgrep -P "$master" | head -n 1)
    [ -n "$worker" ] || fail "$1 $2: no nginx worker"
    dump "$1.$2.worker" "$worker"
    dump "$1.$2.master" "$master"
    stop_nginx
}

for k in rsa ec; do
    step "$k: the key in azkmd, then (control) in nginx's own keystore"
    before=$(jq -c 'select(.category == "AuditEvent" and .operationName == "KeySign")' "$AZKM_AUDIT_LOG" | wc -l)
    run $k remote
    after=$(jq -c 'select(.category == "AuditEvent" and .operationName == "KeySign")' "$AZKM_AUDIT_LOG" | wc -l)
    [ $((after - before)) -ge 5 ] || fail "$k: azkmd made $((after - before)) signatures for 6 full handshakes"
    run $k local
done

for p in worker master; do
    for s in rsa-d rsa-p rsa-q; do
        check "rsa.remote.$p" $s absent "the key is in azkmd: nothing of it may be in nginx"
    done
    check "ec.remote.$p" ec-priv absent "the key is in azkmd: nothing of it may be in nginx"
    check "rsa.remote.$p" rsa-n present "the certificate's modulus is in nginx's heap: without it the dump proves nothing"
    check "ec.remote.$p" ec-pub present "the certificate's point is in nginx's heap: without it the dump proves nothing"
done
for s in rsa-d rsa-p rsa-q; do
    check rsa.local.worker $s present "control: a key loaded in the worker is in its dump (the search works)"
done
check ec.local.worker ec-priv present "control: a key loaded in the worker is in its dump (the search works)"
[ "$failed" -eq 0 ] || fail "$failed check(s) failed"
echo PASS
