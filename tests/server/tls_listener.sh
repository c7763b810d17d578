#!/usr/bin/env bash
# TLS listeners: TLS 1.2 and 1.3 only, the server certificate for *.<domain>, keep-alive; a client without a
# certificate gets Key Vault's 401 challenge, and so does a client whose certificate from tls_client_ca is registered
# to no service principal (rbac_roles.sh covers registered ones), or from another CA (matched by fingerprint only).
# TLS sessions resume with client certificates asked for, the certificate kept. A listener bound to one vault serves
# it whatever the Host header says.
. "$(dirname "$0")/lib.sh"

ca server-ca
ca client-ca
ca other-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN,DNS:$DOMAIN"
issue client-ca client "/CN=app-1" "extendedKeyUsage=clientAuth"
issue other-ca stranger "/CN=app-1" "extendedKeyUsage=clientAuth"

BOUND="$T/bound.sock"
write_config "listen_tls = 127.0.0.1:0" "listen_unix = $BOUND vault=web" "tls_certificate = $T/server.crt" \
    "tls_key = $T/server.key" "tls_client_ca = $T/client-ca.crt"
start_azkmd
tls_port
call POST "/keys/tls-key/create?api-version=$API" '{"kty":"EC"}'
expect 200
URL="https://$VAULT.$DOMAIN:$PORT/keys?api-version=$API"
tls() {
    STATUS=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/server-ca.crt" \
        -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@")
}

step "no client certificate: 401 with Key Vault's challenge, audited"
tls "$URL"
expect 401 Unauthorized
tr -d '\r' <"$T/headers" | grep -qx "WWW-Authenticate: Bearer authorization=\"https://$DOMAIN/azkm\", resource=\"https://$DOMAIN\"" ||
    fail "challenge: $(grep -i www-authenticate "$T/headers")"
expect_audit 401 KeyList
[ "$(audit_last | jq -r .identity.authenticatedBy)" = None ] || fail "audit: authenticatedBy"
[[ "$(audit_last | jq -r .callerIpAddress)" == 127.0.0.1:* ]] || fail "audit: client address"

step "an unregistered client certificate from tls_client_ca: 401 with the challenge, naming its fingerprint"
tls --cert "$T/client.crt" --key "$T/client.key" "$URL"
expect 401 Unauthorized
grep -qi '^WWW-Authenticate: Bearer ' "$T/headers" || fail "no challenge"
fp=$(plain x509 -in "$T/client.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
field .error.message | grep -qF "client certificate (sha256:$fp) is not registered" || fail "401 message"
expect_audit 401 KeyList
[ "$(audit_last | jq -r .identity.clientCertificateSha256)" = "$fp" ] || fail "audit fingerprint"
[ "$(audit_last | jq -r .identity.authenticatedBy)" = ClientCertificate ] || fail "audit method"

step "a certificate from another CA with the same subject: 401, its names not trusted (client_cert_pinning.sh)"
tls --cert "$T/stranger.crt" --key "$T/stranger.key" "$URL"
expect 401 Unauthorized
stranger_fp=$(plain x509 -in "$T/stranger.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
field .error.message | grep -qF "(sha256:$stranger_fp) is not registered" || fail "401 message"

step "TLS 1.2 and 1.3 accepted, TLS 1.1 refused"
for v in tls1_2 tls1_3; do
    plain s_client -connect "127.0.0.1:$PORT" -servername "$VAULT.$DOMAIN" -CAfile "$T/server-ca.crt" -"$v" \
        -verify_return_error </dev/null >"$T/s_client.out" 2>&1 || fail "$v handshake failed"
done
if plain s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$T/s11.out" 2>&1; then
    fail "TLS 1.1 was accepted"
fi
grep -q 'alert protocol version' "$T/s11.out" || fail "TLS 1.1 was not refused by the server: $(tail -n 3 "$T/s11.out")"

step "TLS session resumption with client certificates asked for (clients such as node resume): no handshake failure"
for v in tls1_2 tls1_3; do
    plain s_client -connect "127.0.0.1:$PORT" -servername "$VAULT.$DOMAIN" -CAfile "$T/server-ca.crt" -"$v" \
        -reconnect </dev/null >"$T/resume.out" 2>&1 || fail "$v: a resumed handshake failed: $(grep -m1 alert "$T/resume.out")"
    grep -q alert "$T/resume.out" && fail "$v: $(grep -m1 alert "$T/resume.out")"
    [ "$v" = tls1_3 ] || grep -q '^Reused, TLSv1.2' "$T/resume.out" || fail "$v: the session was not resumed"
done
plain s_client -connect "127.0.0.1:$PORT" -servername "$VAULT.$DOMAIN" -CAfile "$T/server-ca.crt" -tls1_2 \
    -cert "$T/client.crt" -key "$T/client.key" -reconnect </dev/null >"$T/resume.out" 2>&1 ||
    fail "a resumed handshake with a client certificate failed"
grep -q '^Reused, TLSv1.2' "$T/resume.out" || fail "the session with a client certificate was not resumed"
# Two connections of one curl (Connection: close), the second resuming the first's TLS 1.2 session: both name the
# client certificate (a resumed session keeps it).
curl -sv --max-time 10 --tlsv1.2 --tls-max 1.2 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/server-ca.crt" \
    --cert "$T/client.crt" --key "$T/client.key" -H 'Connection: close' -o "$T/r1" "$URL" -o "$T/r2" "$URL" \
    2>"$T/curl.v" || true
grep -qi 're-using session' "$T/curl.v" || fail "curl did not resume the TLS session: $(grep -i session "$T/curl.v")"
for r in r1 r2; do
    jq -r .error.message "$T/$r" | grep -qF "client certificate (sha256:$fp)" || fail "$r: $(cat "$T/$r")"
done

step "keep-alive: two requests on one connection"
curl -sv --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/server-ca.crt" -o /dev/null \
    -o /dev/null "$URL" "$URL" 2>"$T/curl.v" || true
grep -q 'Re-using existing connection' "$T/curl.v" || fail "the second request did not reuse the connection"

step "a Unix listener bound to vault web serves it whatever the Host says"
STATUS=$(curl -sS --max-time 10 --unix-socket "$BOUND" -o "$T/body" -w '%{http_code}' \
    "http://other.$DOMAIN/keys/tls-key?api-version=$API")
expect 200
[[ "$(field .key.kid)" == "http://web.$DOMAIN/keys/tls-key/"* ]] || fail "bound listener kid $(field .key.kid)"
echo "PASS"
