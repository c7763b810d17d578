#!/usr/bin/env bash
# Unmodified nginx 1.22 serves TLS with a vault key through a key reference file: the master (root) loads the key,
# forked workers (an unprivileged user, scrubbed environment) sign with it. Usage: nginx_refile.sh <rsa1|ec1>
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || { echo "SKIP: nginx not installed"; exit 77; }
key=$1
make_ca
issue_cert "azkm://vault1/keys/$key" server.crt
openssl pkey -in "azkm://vault1/keys/$key" -out server.key
grep -q "BEGIN AZKM KEY REFERENCE" server.key || fail "no reference file"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p logs
user=nobody
[ "$(id -u)" = 0 ] || user=$(id -un)
cat >nginx.conf <<CONF
daemon off;
master_process on;
worker_processes 2;
pid $T/nginx.pid;
error_log $T/logs/error.log info;
env OPENSSL_CONF;
env OPENSSL_MODULES;
env AZKM_KEYSTORE_DIR;
$( [ "$(id -u)" = 0 ] && echo "user $user nogroup;" )
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/tmp; proxy_temp_path $T/tmp; fastcgi_temp_path $T/tmp;
    uwsgi_temp_path $T/tmp; scgi_temp_path $T/tmp;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $T/server.crt;
        ssl_certificate_key $T/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "azkm ok\n"; }
    }
}
CONF
mkdir -p tmp
chmod 755 "$T"
nginx -p "$T" -c "$T/nginx.conf" -e "$T/logs/error.log" &
for _ in $(seq 100); do
    plain s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 && break
    sleep 0.1
done
for proto in -tls1_3 -tls1_2; do
    for i in 1 2 3; do
        out=$(printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=/dev/null timeout 10 openssl s_client \
            -connect "127.0.0.1:$port" -servername localhost -CAfile ca.crt -verify_return_error -ign_eof \
            $proto 2>&1) || fail "handshake $proto failed: $out $(cat logs/error.log)"
        grep -q "azkm ok" <<<"$out" || fail "no answer $proto: $out"
    done
    echo "ok: nginx $proto"
done
ps -o user=,pid=,cmd= --ppid "$(cat nginx.pid)" | grep -q "worker process" || fail "no worker processes"
kill "$(cat nginx.pid)"
echo "PASS"
