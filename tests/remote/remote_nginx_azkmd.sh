#!/usr/bin/env bash
# examples/azkmd/keyless-setup.sh and examples/nginx/nginx.conf as shipped (rendered for ports and directories, as
# tests/servers do): the keys in azkmd, nginx's workers (www-data) signing over azkmd's Unix socket with a role on
# each key only. Handshakes with the RSA and the EC key succeed and azkmd's audit log has them signed by uid 33;
# www-data is refused a key it has no role on (403 ForbiddenByRbac); nginx with another user (nobody) starts (its
# master, root, loads the keys) but its handshakes fail, with azkmd's 403 named in nginx's error log. Then Apache
# (examples/apache as shipped, in the harness of tests/servers/lib.sh) with workers as www-data: both keys work.
# The socket is 0666 here (the example: 0660, group azkm) so that a user without a role reaches azkmd at all: what
# refuses it is the role assignment, not the file mode.
. "$(dirname "$0")/lib.sh"
keyless_setup
"$AZKM" key create --vault-name web --name other --kty EC >/dev/null || fail "create key other"

step "nginx as shipped, workers www-data: RSA and ECDSA handshakes signed by azkmd for uid 33"
start_nginx www-data
before=$(signs_by 33)
for i in 1 2 3; do
    [ "$(get --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256)" = "keyless TLS by azkmd" ] ||
        fail "RSA handshake $i: $(cat "$T/curl.err")"
    [ "$(get --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256)" = "keyless TLS by azkmd" ] ||
        fail "ECDSA handshake $i: $(cat "$T/curl.err")"
done
[ "$(get --tlsv1.3)" = "keyless TLS by azkmd" ] || fail "TLS 1.3 handshake: $(cat "$T/curl.err")"
[ $(($(signs_by 33) - before)) -ge 7 ] || fail "azkmd signed $(($(signs_by 33) - before)) times for www-data, not 7"
# TLS 1.2 with RSA key exchange: the premaster decrypted by azkmd in its TLS premaster mode, for uid 33.
[ "$(get --tls-max 1.2 --ciphers AES128-GCM-SHA256)" = "keyless TLS by azkmd" ] ||
    fail "RSA key exchange handshake: $(cat "$T/curl.err")"
jq -e -s 'map(select(.category == "AuditEvent" and .operationName == "KeyDecrypt" and .httpStatusCode == 200 and
    (.identity.principals | index("uid:33")))) | length == 1' "$AZKM_AUDIT_LOG" >/dev/null ||
    fail "azkmd did not decrypt the premaster for www-data"

step "www-data may not use a key it has no role on"
# (the body on stdout: www-data cannot write in $T)
setpriv --reuid=33 --regid=33 --clear-groups -- curl -sS --unix-socket "$SOCK" -w '\n%{http_code}' \
    -H 'Content-Type: application/json' -d '{"alg":"ES256","value":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}' \
    "http://web.$DOMAIN/keys/other//sign?api-version=$API" >"$T/body" || fail "curl as www-data"
status=$(tail -n 1 "$T/body")
[ "$status" = 403 ] || fail "www-data signing with key other: HTTP $status, not 403"
grep -q "ForbiddenByRbac" "$T/body" || fail "www-data refused, but not by RBAC"
grep -q "scope '/keys/other'" "$T/body" || fail "the refusal does not name the key's scope"

step "nginx with workers as nobody (no role): handshakes fail, the 403 in nginx's error log"
stop_nginx
start_nginx "nobody nogroup"
if get --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 >/dev/null; then fail "a handshake as nobody succeeded"; fi
wait_log "answered 403" || true
grep -q "remote vault web: azkmd at unix:$SOCK: POST /keys/web-rsa/[0-9a-f]*/sign answered 403 Forbidden" \
    "$T/logs/error.log" || fail "nginx's error log does not name the 403: $(tail -n 5 "$T/logs/error.log")"
grep -q "uid:65534" "$T/logs/error.log" || fail "nginx's error log does not name the caller"
grep -m 1 "answered 403" "$T/logs/error.log"
stop_nginx

step "Apache as shipped (examples/apache), workers www-data: RSA and ECDSA handshakes signed by azkmd"
# tests/servers/lib.sh's harness (write_apache_harness), reduced: Debian's apache2.conf and envvars, with the
# shipped site and envvars lines; the provider's configuration and keystore are this test's (with_provider).
mkdir -p "$T/apache"
render examples/apache/azkm-keyless-tls.conf "$T/apache/site.conf"
sed -i "s|<VirtualHost \*:443>|<VirtualHost 127.0.0.1:$PORT>|" "$T/apache/site.conf"
{
    echo "export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data APACHE_LOG_DIR=$T/logs"
    echo "export OPENSSL_CONF=$T/openssl.cnf OPENSSL_MODULES=$AZKM_PROVIDER_DIR AZKM_KEYSTORE_DIR=$CLIENT"
} >"$T/apache/envvars"
M=/usr/lib/apache2/modules
cat >"$T/apache/apache2.conf" <<CONF
ServerRoot $T/apache
ServerName localhost
PidFile $T/run/apache2.pid
DefaultRuntimeDir $T/run
Mutex file:$T/run default
User www-data
Group www-data
ErrorLog $T/logs/error.log
LogLevel warn
LoadModule mpm_prefork_module $M/mod_mpm_prefork.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule dir_module $M/mod_dir.so
LoadModule socache_shmcb_module $M/mod_socache_shmcb.so
LoadModule ssl_module $M/mod_ssl.so
StartServers 2
DirectoryIndex index.html
SSLSessionCache shmcb:$T/run/ssl_scache(512000)
Listen 127.0.0.1:$PORT
Include $T/apache/site.conf
CONF
apache() { (. "$T/apache/envvars" && apache2 -f "$T/apache/apache2.conf" -k "$1"); }
: >"$T/logs/error.log"
apache start 2>"$T/apache.err" || fail "apache did not start: $(cat "$T/apache.err" "$T/logs/error.log")"
trap 'apache stop 2>/dev/null; cleanup' EXIT
for _ in $(seq 300); do
    [ -s "$T/run/apache2.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
before=$(signs_by 33)
for i in 1 2; do
    [ "$(get --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256)" = "keyless TLS by azkmd" ] ||
        fail "Apache RSA handshake $i: $(cat "$T/curl.err")"
    [ "$(get --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256)" = "keyless TLS by azkmd" ] ||
        fail "Apache ECDSA handshake $i: $(cat "$T/curl.err")"
done
[ $(($(signs_by 33) - before)) -ge 4 ] || fail "azkmd signed $(($(signs_by 33) - before)) times for Apache, not 4"
apache stop 2>/dev/null || true
for _ in $(seq 300); do
    [ -e "$T/run/apache2.pid" ] || break
    sleep 0.1
done
echo PASS
