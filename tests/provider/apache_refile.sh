#!/usr/bin/env bash
# Unmodified Apache httpd 2.4 (mod_ssl, prefork) serves TLS with a vault key through a key reference file given as
# SSLCertificateKeyFile; prefork children (an unprivileged user) sign with the key the parent loaded.
# Usage: apache_refile.sh <rsa1|ec1>
. "$(dirname "$0")/lib.sh"

command -v apache2 >/dev/null || { echo "SKIP: apache2 not installed"; exit 77; }
M=/usr/lib/apache2/modules
[ -f $M/mod_ssl.so ] || { echo "SKIP: mod_ssl not found"; exit 77; }
key=$1
make_ca
issue_cert "azkm://vault1/keys/$key" server.crt
openssl pkey -in "azkm://vault1/keys/$key" -out server.key
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p logs htdocs run
echo "azkm ok" >htdocs/index.html
chmod -R a+rX "$T/htdocs"
chmod 755 "$T"
cat >httpd.conf <<CONF
ServerRoot $T
ServerName localhost
Listen 127.0.0.1:$port
PidFile $T/run/httpd.pid
DefaultRuntimeDir $T/run
Mutex file:$T/run default
ErrorLog $T/logs/error.log
LogLevel warn
LoadModule mpm_prefork_module $M/mod_mpm_prefork.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule socache_shmcb_module $M/mod_socache_shmcb.so
LoadModule ssl_module $M/mod_ssl.so
StartServers 2
MinSpareServers 1
MaxSpareServers 2
$( [ "$(id -u)" = 0 ] && printf 'User nobody\nGroup nogroup\n' )
SSLSessionCache shmcb:$T/run/ssl_scache(512000)
DocumentRoot $T/htdocs
<Directory $T/htdocs>
  Require all granted
</Directory>
<VirtualHost 127.0.0.1:$port>
  SSLEngine on
  SSLProtocol -all +TLSv1.2 +TLSv1.3
  SSLCertificateFile $T/server.crt
  SSLCertificateKeyFile $T/server.key
</VirtualHost>
CONF
apache2 -f "$T/httpd.conf" -k start || fail "apache2 did not start: $(cat logs/error.log)"
trap 'apache2 -f "$T/httpd.conf" -k stop 2>/dev/null; sleep 0.5; cleanup' EXIT
for _ in $(seq 100); do
    plain s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 && break
    sleep 0.1
done
for proto in -tls1_3 -tls1_2; do
    for i in 1 2 3; do
        out=$(printf 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n' | OPENSSL_CONF=/dev/null timeout 10 \
            openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile ca.crt -verify_return_error \
            -ign_eof $proto 2>&1) || fail "handshake $proto failed: $out $(cat logs/error.log)"
        grep -q "azkm ok" <<<"$out" || fail "no answer $proto: $out $(cat logs/error.log)"
    done
    echo "ok: apache $proto"
done
echo "PASS"
