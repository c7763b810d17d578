#!/usr/bin/env bash
# nginx serving TLS with a remote key: the master loads the key reference of a remote vault's key through the
# provider, its two workers (forked) sign every handshake through azkmd on connections of their own. azkmd stopped:
# handshakes fail at once, nginx stays up; azkmd back: handshakes work again without restarting or reloading nginx.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/setup.sh installs it)"

write_config
start_azkmd
server_keys
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"
ca testca
with_provider openssl req -new -key azkm://web/keys/web-ec -subj "/CN=tls.test" -out "$T/web.csr" || fail "CSR"
printf 'subjectAltName=DNS:tls.test\n' >"$T/san.cnf"
plain x509 -req -in "$T/web.csr" -CA "$T/testca.crt" -CAkey "$T/testca.key" -CAcreateserial -days 2 \
    -extfile "$T/san.cnf" -out "$T/web.crt" 2>/dev/null || fail "issue"
client key ref --vault-name web --name web-ec --file "$T/web.ref.pem" >/dev/null || fail "key ref"

NGINX_PORT=$(bash "$AZKM_TOP/scripts/free-port.sh")
mkdir -p "$T/nginx"
cat >"$T/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
user root;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/nginx;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $T/web.crt;
        ssl_certificate_key $T/web.ref.pem;
        location / { return 200 "keyless\n"; }
    }
}
CONF
with_provider nginx -p "$T/nginx" -c "$T/nginx.conf" &
NGINX=$!
# $NGINX is the subshell running with_provider; the master's own pid is in its pid file.
stop_nginx() {
    [ -s "$T/nginx.pid" ] && kill -TERM "$(cat "$T/nginx.pid")" 2>/dev/null
    wait "$NGINX" 2>/dev/null || true
}
trap 'stop_nginx; cleanup' EXIT
for _ in $(seq 300); do
    curl -s -o /dev/null --cacert "$T/testca.crt" --resolve "tls.test:$NGINX_PORT:127.0.0.1" \
        "https://tls.test:$NGINX_PORT/" && break
    kill -0 "$NGINX" 2>/dev/null || fail "nginx exited: $(cat "$T/nginx-error.log")"
    sleep 0.1
done

get() { # get: one request on a new TLS connection (a full handshake); prints the body
    curl -sS --max-time 5 --cacert "$T/testca.crt" --resolve "tls.test:$NGINX_PORT:127.0.0.1" \
        "https://tls.test:$NGINX_PORT/" 2>"$T/curl.err"
}
signs() {
    jq -c 'select(.category == "AuditEvent" and .operationName == "KeySign" and .httpStatusCode == 200)' \
        "$AZKM_AUDIT_LOG" | wc -l
}

step "20 full handshakes, each signed by azkmd through a worker"
before=$(signs)
for i in $(seq 20); do
    [ "$(get)" = keyless ] || fail "request $i: $(cat "$T/curl.err")"
done
[ $(($(signs) - before)) -ge 20 ] || fail "azkmd made $(($(signs) - before)) signatures for 20 handshakes"

step "azkmd stopped: handshakes fail, nginx stays up"
stop_azkmd
if get >/dev/null; then fail "a handshake succeeded without azkmd"; fi
kill -0 "$NGINX" || fail "nginx died with azkmd"
grep -q "remote vault web: azkmd at unix:$SOCK: POST /keys/web-ec/[0-9a-f]*/sign: cannot connect" \
    "$T/nginx-error.log" || fail "nginx's error log does not say why: $(tail -n 5 "$T/nginx-error.log")"

step "azkmd back: handshakes work again, nginx neither restarted nor reloaded"
start_azkmd
for i in $(seq 6); do
    [ "$(get)" = keyless ] || fail "request $i after the restart: $(cat "$T/curl.err")"
done
echo "PASS"
