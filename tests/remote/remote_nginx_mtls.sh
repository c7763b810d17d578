#!/usr/bin/env bash
# The two-host keyless TLS of examples/azkmd/keyless-mtls.sh as shipped, both hosts on loopback: "azkmd's host" is
# azkmd with a TLS listener on 127.0.0.1 (its certificate for *.<domain> from a test CA) on keystore $T/keystore;
# "the web host" is nginx (examples/nginx/nginx.conf as shipped, workers www-data) on its own keystore $CLIENT. The
# three steps run in order (client, azkmd, connect), the files copied between them as the script says; step 2 run
# again for a second host adds its principal's roles and no key version. Why a PEM file 0640 root:www-data: a key
# reference into root's keystore, or a PEM file only root reads, loads in nginx's master but not in its workers,
# and handshakes fail saying so. Handshakes are signed by azkmd for the web host's service principal (audit:
# authenticatedBy ClientCertificate); its role on web-rsa deleted: RSA handshakes fail with azkmd's 403 in nginx's
# error log, ECDSA ones go on; the service principal deleted: handshakes fail with the 401 naming the unregistered
# certificate.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/setup.sh installs it)"
[ "$(id -u)" = 0 ] || fail "nginx's workers run as www-data: run this test as root"

ca azkmd-ca
issue azkmd-ca azkmd "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN"
write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/azkmd.crt" "tls_key = $T/azkmd.key"
start_azkmd
tls_port
AZKMD_PORT=$PORT
mkdir -p "$T/etc/azkm/tls" "$T/logs" "$T/run" "$T/nginx" "$T/www/html" "$T/azkmd-host"
echo "keyless TLS by azkmd over mTLS" >"$T/www/html/index.html"
chmod -R a+rX "$T/www"
render examples/azkmd/keyless-setup.sh "$T/keyless-setup.sh"
render examples/azkmd/keyless-mtls.sh "$T/keyless-mtls.sh"
BIN=$(dirname "$AZKM")
# web_host CMD...: as root on the web host (its keystore, the provider); azkmd_host CMD...: on azkmd's host.
web_host() { PATH="$BIN:$PATH" with_provider "$@"; }
azkmd_host() { PATH="$BIN:$PATH" AZKMD_KEYSTORE=$AZKM_KEYSTORE_DIR AZKMD_USER=root "$@"; }

step "bad sub-commands named"
should_fail "usage: keyless-mtls.sh client \| azkmd CLIENT_CERT \| connect" bash "$T/keyless-mtls.sh" azkmd
should_fail "keyless-setup.sh: unknown step 'sp' \(azkmd, connect or certs\)" bash "$T/keyless-setup.sh" sp
should_fail "client certificate $T/none.crt is missing or empty" \
    azkmd_host bash "$T/keyless-mtls.sh" azkmd "$T/none.crt"

step "web host: keyless-mtls.sh client (the workers' client key, 0640 root:www-data, and its certificate)"
web_host bash "$T/keyless-mtls.sh" client >"$T/out" 2>"$T/setup.err" || fail "client: $(cat "$T/setup.err")"
grep -q "copy $T/etc/azkm/azkmd-client/client.crt to azkmd's host" "$T/out" || fail "client said: $(cat "$T/out")"
[ "$(stat -c %a:%U:%G "$T/etc/azkm/azkmd-client/client.key")" = 640:root:www-data ] ||
    fail "client.key: $(stat -c %a:%U:%G "$T/etc/azkm/azkmd-client/client.key")"
setpriv --reuid=33 --regid=33 --clear-groups -- cat "$T/etc/azkm/azkmd-client/client.key" >/dev/null ||
    fail "www-data cannot read the client key"
if setpriv --reuid=65534 --regid=65534 --clear-groups -- cat "$T/etc/azkm/azkmd-client/client.key" 2>/dev/null; then
    fail "nobody can read the client key"
fi
cp "$T/etc/azkm/azkmd-client/client.crt" "$T/azkmd-host/web.crt"
chmod 600 "$T/azkmd-host/web.crt"

step "azkmd's host: keyless-mtls.sh azkmd web.crt (keys, the service principal, its role on each key)"
azkmd_host bash "$T/keyless-mtls.sh" azkmd "$T/azkmd-host/web.crt" >"$T/out" 2>"$T/setup.err" ||
    fail "azkmd: $(cat "$T/setup.err")"
app=$(sed -n 's/^service principal \([0-9a-f-]*\) .*/\1/p' "$T/out")
[ -n "$app" ] || fail "azkmd said: $(cat "$T/out")"
"$AZKM" role assignment list --vault-name web -o json >"$T/roles.json" || fail "role assignment list"
jq -e --arg sp "sp:$app" '[.[] | select(.principalId == $sp) | .scope] | sort ==
    ["/keys/web-ec", "/keys/web-rsa"]' "$T/roles.json" >/dev/null || fail "roles: $(cat "$T/roles.json")"

step "azkmd's host, a second web host: keyless-mtls.sh azkmd again adds its principal's roles, the keys unchanged"
versions() {
    for k in web-rsa web-ec; do "$AZKM" key list-versions --vault-name web --name "$k" -o json | jq length; done
}
[ "$(versions | tr '\n' ' ')" = "1 1 " ] || fail "key versions: $(versions)"
plain req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=web2 \
    -addext extendedKeyUsage=clientAuth -keyout "$T/web2.key" -out "$T/azkmd-host/web2.crt" 2>/dev/null
azkmd_host env SP_NAME=web2 bash "$T/keyless-mtls.sh" azkmd "$T/azkmd-host/web2.crt" >"$T/out" 2>"$T/setup.err" ||
    fail "azkmd, second host: $(cat "$T/setup.err")"
app2=$(sed -n 's/^service principal \([0-9a-f-]*\) .*/\1/p' "$T/out")
[[ -n "$app2" && "$app2" != "$app" ]] || fail "azkmd said: $(cat "$T/out")"
[ "$(versions | tr '\n' ' ')" = "1 1 " ] || fail "a second run made new key versions: $(versions)"
"$AZKM" role assignment list --vault-name web -o json >"$T/roles.json" || fail "role assignment list"
jq -e --arg sp "sp:$app2" '[.[] | select(.principalId == $sp) | .scope] | sort == ["/keys/web-ec", "/keys/web-rsa"]' \
    "$T/roles.json" >/dev/null || fail "roles of the second host: $(cat "$T/roles.json")"
cp "$T/azkmd-ca.crt" "$T/etc/azkm/azkmd-client/azkmd-ca.crt"

step "web host: keyless-mtls.sh connect (vault web over mutual TLS, certificates, key reference files)"
web_host env AZKMD_URL="https://127.0.0.1:$AZKMD_PORT" AZKMD_DOMAIN="$DOMAIN" bash "$T/keyless-mtls.sh" connect \
    >"$T/out" 2>"$T/setup.err" || fail "connect: $(cat "$T/setup.err")"
[ "$(jq -r .auth "$CLIENT/web/remote.json")" = certificate ] || fail "remote.json: $(cat "$CLIENT/web/remote.json")"
keyless_files_written keyless-mtls.sh

# signs_by_sp: azkmd's successful KeySign records for the web host's service principal, by its client certificate.
signs_by_sp() {
    jq -c --arg p "sp:$app" 'select(.category == "AuditEvent" and .operationName == "KeySign" and
        .httpStatusCode == 200 and .identity.principals[0] == $p and
        .identity.authenticatedBy == "ClientCertificate")' "$AZKM_AUDIT_LOG" | wc -l
}
rsa() { get --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256; }
ecdsa() { get --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256; }
BODY="keyless TLS by azkmd over mTLS"

step "why not a key reference: with the client key in a local vault of root's keystore, nginx starts (its master is
root) but the workers cannot open that vault"
client vault create --name client >/dev/null || fail "vault client"
client key create --vault-name client --name mtls --kty EC >/dev/null || fail "client key in vault client"
client key ref --vault-name client --name mtls --file "$T/client-ref.pem" >/dev/null || fail "key ref"
chmod 640 "$T/client-ref.pem" && chgrp www-data "$T/client-ref.pem"
with_provider openssl req -new -x509 -key "$T/client-ref.pem" -subj /CN=ref -days 2 \
    -addext extendedKeyUsage=clientAuth -out "$T/client-ref.crt" || fail "certificate of the key reference"
ref_app=$("$AZKM" sp create --display-name ref --cert "$T/client-ref.crt" -o json | jq -r .appId)
for key in web-rsa web-ec; do
    "$AZKM" role assignment create --vault-name web --role "Key Vault Crypto User" --assignee "sp:$ref_app" \
        --scope "/keys/$key" >/dev/null || fail "role for sp:$ref_app"
done
client vault delete --name web >/dev/null || fail "vault delete web"
client vault connect --name web --url "https://127.0.0.1:$AZKMD_PORT" --domain "$DOMAIN" \
    --ca "$T/etc/azkm/azkmd-client/azkmd-ca.crt" --client-cert "$T/client-ref.crt" --client-key "$T/client-ref.pem" \
    >/dev/null 2>"$T/err" || fail "connect with a key reference: $(cat "$T/err")"
start_nginx www-data
if rsa >/dev/null; then fail "a handshake succeeded with a client key www-data cannot load"; fi
wait_log "cannot load key azkm://client/keys/mtls: vault client: vault directory $CLIENT/client: Permission denied.*\
azkmd at https://127.0.0.1:$AZKMD_PORT: .*the client key is a key reference file, and the azkm provider could not \
load its key in this process" || fail "nginx's error log does not say why: $(tail -n 5 "$T/logs/error.log")"
grep -m 1 "cannot load key azkm://client" "$T/logs/error.log"
stop_nginx
client vault delete --name web >/dev/null || fail "vault delete web"
client vault connect --name web --url "https://127.0.0.1:$AZKMD_PORT" --domain "$DOMAIN" \
    --ca "$T/etc/azkm/azkmd-client/azkmd-ca.crt" --client-cert "$T/etc/azkm/azkmd-client/client.crt" \
    --client-key "$T/etc/azkm/azkmd-client/client.key" >/dev/null || fail "connect again with the PEM file"

step "why the client key is 0640 root:www-data: with 0600 root nginx starts (its master is root) but the workers,
who open the connections to azkmd, cannot load it"
chmod 600 "$T/etc/azkm/azkmd-client/client.key"
start_nginx www-data
if rsa >/dev/null; then fail "a handshake succeeded with a client key www-data cannot read"; fi
wait_log "Permission denied:calling fopen\(.*client.key.*azkmd at https://127.0.0.1:$AZKMD_PORT: .*the client \
certificate or key cannot be used" ||
    fail "nginx's error log does not name the client key: $(tail -n 5 "$T/logs/error.log")"
grep -m 1 "client certificate or key" "$T/logs/error.log"
stop_nginx
chmod 640 "$T/etc/azkm/azkmd-client/client.key"

step "nginx as shipped, workers www-data: handshakes signed by azkmd for sp:$app over mutual TLS"
start_nginx www-data
before=$(signs_by_sp)
for i in 1 2; do
    [ "$(rsa)" = "$BODY" ] || fail "RSA handshake $i: $(cat "$T/curl.err")"
    [ "$(ecdsa)" = "$BODY" ] || fail "ECDSA handshake $i: $(cat "$T/curl.err")"
done
[ "$(get --tlsv1.3)" = "$BODY" ] || fail "TLS 1.3 handshake: $(cat "$T/curl.err")"
audit_last | jq -c .identity
[ $(($(signs_by_sp) - before)) -ge 5 ] || fail "azkmd signed $(($(signs_by_sp) - before)) times for sp:$app, not 5"
[ "$(grep -c '"operationName":"KeySign"' "$AZKM_AUDIT_LOG")" = "$(signs_by_sp)" ] ||
    fail "a KeySign by another caller than sp:$app: $(grep '"KeySign"' "$AZKM_AUDIT_LOG" | tail -n 3)"

step "the service principal's role on web-rsa deleted in azkmd: RSA handshakes fail with the 403 in nginx's log"
"$AZKM" role assignment delete --vault-name web --assignee "sp:$app" --scope /keys/web-rsa >/dev/null ||
    fail "role assignment delete"
if rsa >/dev/null; then fail "an RSA handshake succeeded after the role was deleted"; fi
wait_log "azkmd at https://127.0.0.1:$AZKMD_PORT: POST /keys/web-rsa/[0-9a-f]{32}/sign answered 403 Forbidden" ||
    fail "nginx's error log does not name azkmd's 403: $(tail -n 5 "$T/logs/error.log")"
grep -q "Caller: sp:$app" "$T/logs/error.log" || fail "nginx's error log does not name sp:$app"
grep -m 1 "answered 403" "$T/logs/error.log"
[ "$(ecdsa)" = "$BODY" ] || fail "ECDSA handshake (its role stays): $(cat "$T/curl.err")"

step "the service principal deleted in azkmd: its certificate registered to no one, handshakes fail with the 401"
"$AZKM" sp delete --id "$app" >/dev/null || fail "sp delete"
# azkmd's worker threads remember a certificate's principal for at most 1 s (docs/server.md, Caches).
for _ in $(seq 30); do
    ecdsa >/dev/null || break
    sleep 0.1
done
if ecdsa >/dev/null; then fail "ECDSA handshakes still succeed after the service principal was deleted"; fi
wait_log "azkmd at https://127.0.0.1:$AZKMD_PORT: POST /keys/web-ec/[0-9a-f]{32}/sign answered 401 Unauthorized" ||
    fail "nginx's error log does not name azkmd's 401: $(tail -n 5 "$T/logs/error.log")"
grep -m 1 "answered 401" "$T/logs/error.log"
stop_nginx
echo PASS
