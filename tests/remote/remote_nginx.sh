#!/usr/bin/env bash
# nginx serving TLS with a remote key: the master loads the key reference of a remote vault's key through the
# provider, its two workers (forked) sign every handshake through azkmd on connections of their own. azkmd killed
# (SIGKILL) under 4 clients' load: their handshakes fail at once (no timeout), nginx stays up; azkmd back: the same
# clients' handshakes work again without restarting or reloading nginx (the workers' dead connections replaced).
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

# load C: client C makes requests (a full handshake each) until $T/stop exists, at most 600; per request a line
# "<phase at its start> <phase at its end> <curl's exit status>" (phases: $T/phase, written by the test).
load() {
    local p0 rc
    for _ in $(seq 600); do
        [ -e "$T/stop" ] && break
        p0=$(cat "$T/phase")
        curl -s -o /dev/null --max-time 5 --cacert "$T/testca.crt" --resolve "tls.test:$NGINX_PORT:127.0.0.1" \
            "https://tls.test:$NGINX_PORT/" && rc=0 || rc=$?
        echo "$p0 $(cat "$T/phase") $rc"
    done >"$T/load.$1"
}
# count PHASE [RC|!RC]: requests that started and ended in PHASE (with that status, or another)
count() { cat "$T"/load.* | awk -v p="$1" -v r="${2:-}" '$1 == p && $2 == p && (r == "" ||
    (substr(r, 1, 1) == "!" ? $3 != substr(r, 2) : $3 == r)) { n++ } END { print n + 0 }'; }
until_count() { # until_count N PHASE [RC]: wait (at most 15 s) for N such requests
    for _ in $(seq 150); do
        [ "$(count "$2" "${3:-}")" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

step "azkmd killed (SIGKILL) under 4 clients: handshakes fail at once (an error, not a timeout), nginx stays up"
master=$(cat "$T/nginx.pid")
echo up >"$T/phase"
loaders=()
for c in 1 2 3 4; do
    load $c &
    loaders+=($!)
done
until_count 8 up 0 || fail "the clients made no 8 requests with azkmd up: $(cat "$T"/load.*)"
echo down >"$T/phase"
kill -KILL "$AZKMD_PID"
wait "$AZKMD_PID" 2>/dev/null || true
AZKMD_PID=
until_count 8 down || fail "no 8 requests while azkmd was down: $(cat "$T"/load.*)"
[ "$(count down 0)" = 0 ] || fail "$(count down 0) handshakes succeeded without azkmd"
[ "$(count down 28)" = 0 ] || fail "$(count down 28) requests timed out instead of failing at once"
kill -0 "$master" || fail "nginx died with azkmd"
for _ in $(seq 100); do grep -q "cannot connect" "$T/nginx-error.log" && break; sleep 0.1; done
grep -q "remote vault web: azkmd at unix:$SOCK: POST /keys/web-ec/[0-9a-f]*/sign: cannot connect" \
    "$T/nginx-error.log" || fail "nginx's error log does not say why: $(tail -n 5 "$T/nginx-error.log")"

step "azkmd back: the same clients' handshakes work again, nginx neither restarted nor reloaded"
start_azkmd
echo back >"$T/phase"
until_count 8 back || fail "no 8 requests after azkmd came back: $(cat "$T"/load.*)"
touch "$T/stop"
wait "${loaders[@]}"
[ "$(count back '!0')" = 0 ] || fail "$(count back '!0') requests failed after azkmd came back"
{ [ "$(cat "$T/nginx.pid")" = "$master" ] && kill -0 "$master"; } || fail "nginx's master changed"
echo "requests: $(count up) before, $(count down) while down (all failed at once), $(count back) after (all served)"
echo "PASS"
