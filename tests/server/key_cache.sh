#!/usr/bin/env bash
# azkmd's caches keep their answers right (docs/server.md, "Caches"): one worker thread, so that every request hits
# the keys it loaded before. A key changed by another process (the azkm CLI) between two requests is seen at once:
# disabled -> 403, enabled again -> 200, rotated -> the new version signs, key_ops without sign -> 403, deleted ->
# 404; a version named explicitly stays that version; a key whose operation failed is loaded again. A client certificate's service principal, deleted, stops
# authenticating within the cache's bound (1 s).
. "$(dirname "$0")/lib.sh"

ca server-ca
ca client-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN"
issue client-ca app "/CN=app-1" "extendedKeyUsage=clientAuth"

AZKMD_TEST_THREADS=1 write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/server.crt" \
    "tls_key = $T/server.key" "tls_client_ca = $T/client-ca.crt"
start_azkmd
tls_port
SIGN='{"alg":"ES256","value":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}'
sign() { # sign [VERSION]: sign with k1 (its current version when none is given)
    call POST "/keys/k1/${1-}/sign?api-version=$API" "$SIGN"
}

step "a key loaded by a first sign, then disabled by the CLI: the next sign is refused"
call POST "/keys/k1/create?api-version=$API" "{\"kty\":\"$EC\"}"
expect 200
v1=$(field .key.kid | sed 's|.*/||')
sign
expect 200
sign
expect 200
[ "$(field .kid | sed 's|.*/||')" = "$v1" ] || fail "signed with $(field .kid), not $v1"
"$AZKM" key set-attributes --vault-name "$VAULT" --name k1 --enabled false >/dev/null
sign
expect 403 Forbidden
field .error.message | grep -q disabled || fail "403 does not say the key is disabled"
"$AZKM" key set-attributes --vault-name "$VAULT" --name k1 --enabled true >/dev/null
sign
expect 200

step "rotated by the CLI: the current version is the new one; the old one, named, still signs"
v2=$("$AZKM" key rotate --vault-name "$VAULT" --name k1 -o json | jq -r .key.kid | sed 's|.*/||')
[[ "$v2" =~ ^[0-9a-f]{32}$ ]] && [ "$v2" != "$v1" ] || fail "rotate: version '$v2'"
sign
expect 200
[ "$(field .kid | sed 's|.*/||')" = "$v2" ] || fail "after rotation signed with $(field .kid), not $v2"
sign "$v1"
expect 200
[ "$(field .kid | sed 's|.*/||')" = "$v1" ] || fail "signed with $(field .kid), not the version named $v1"

step "key_ops without sign: refused at once; deleted: 404 at once"
"$AZKM" key set-attributes --vault-name "$VAULT" --name k1 --ops verify >/dev/null
sign
expect 403 Forbidden
"$AZKM" key delete --vault-name "$VAULT" --name k1 >/dev/null
sign
expect 404 KeyNotFound
sign "$v1"
expect 404 KeyNotFound

step "a failed operation drops the key from the cache (here a ciphertext that does not decrypt); the next loads it again"
call POST "/keys/k3/create?api-version=$API" "{\"kty\":\"$RSA\"}"
expect 200
call POST "/keys/k3//encrypt?api-version=$API" '{"alg":"RSA-OAEP-256","value":"c2VjcmV0"}'
expect 200
ct=$(field .value)
bad=$(head -c 256 /dev/zero | tr '\0' '\1' | base64 -w0 | tr '+/' '-_' | tr -d '=') # the modulus' length
call POST "/keys/k3//decrypt?api-version=$API" "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$bad\"}"
expect 400 BadParameter
field .error.message | grep -qi "decrypt" || fail "400 is not a failed decryption: $(field .error.message)"
call POST "/keys/k3//decrypt?api-version=$API" "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$ct\"}"
expect 200
[ "$(field .value)" = c2VjcmV0 ] || fail "decrypt after a failed decrypt: $(field .value)"

step "the audit record (formatted without jansson) escapes what the caller controls, and is one JSON line"
CURL_EXTRA=(-H $'Host: a"b\\\tc\xc3\xa9.vault.azkm.localhost' -H 'x-ms-client-request-id: 0f9e2c1a-ab')
call GET "/keys?api-version=$API"
CURL_EXTRA=()
expect 400 BadParameter
rec=$(audit_last)
[ "$(jq -r .resultDescription <<<"$rec")" = $'\'a"b\\\tc\xc3\xa9\' is not a valid vault name' ] || fail "audit description: $rec"
[ "$(jq -r .vault <<<"$rec")" = $'a"b\\\tc\xc3\xa9' ] || fail "audit vault: $rec"
[ "$(jq -r .clientRequestId <<<"$rec")" = 0f9e2c1a-ab ] || fail "audit clientRequestId: $rec"
jq -e '(.durationMs | type) == "number" and .httpStatusCode == 400 and .identity.principals[0] == "uid:0"' \
    <<<"$rec" >/dev/null || fail "audit fields: $rec"

step "a deleted service principal's certificate stops authenticating within 1 s"
call POST "/keys/k2/create?api-version=$API" "{\"kty\":\"$EC\"}"
expect 200
app=$("$AZKM" sp create --display-name app-1 --cert "$T/app.crt" -o json | jq -r .appId)
"$AZKM" role assignment create --vault-name "$VAULT" --role "Key Vault Crypto User" --assignee "sp:$app" \
    --scope / >/dev/null
tls() {
    STATUS=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/server-ca.crt" \
        --cert "$T/app.crt" --key "$T/app.key" -o "$T/body" -D "$T/headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary "$SIGN" \
        "https://$VAULT.$DOMAIN:$PORT/keys/k2//sign?api-version=$API")
}
tls
expect 200
"$AZKM" sp delete --id "$app" >/dev/null
sleep 1.1
tls
expect 401 Unauthorized
echo "PASS"
