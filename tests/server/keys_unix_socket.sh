#!/usr/bin/env bash
# Create, get, list, rotate and every data-plane operation over the Unix socket, on the tier AZKMD_TEST_TIER names,
# as the owner of azkmd (allowed everything), with the results checked independently: JWKs turned into PEM and
# signatures verified by openssl alone, ciphertexts made by openssl from the public key decrypted by azkmd, round
# trips compared; paging followed through nextLink; one audit record per request, holding no key material.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd

step "create RSA-2048 and EC P-256 keys; the bundle is Key Vault's"
call POST "/keys/Web-RSA/create?api-version=$API" "{\"kty\":\"$RSA\",\"key_size\":2048,\"tags\":{\"team\":\"web\"}}"
expect 200
kid=$(field .key.kid)
rsa_v1=${kid##*/}
[[ "$kid" =~ ^http://web\.vault\.azkm\.localhost/keys/Web-RSA/[0-9a-f]{32}$ ]] || fail "kid $kid"
[ "$(field '.key.key_ops | join(",")')" = "encrypt,decrypt,sign,verify,wrapKey,unwrapKey" ] || fail "key_ops"
[ "$(field .attributes.enabled)" = true ] && [ "$(field .tags.team)" = web ] || fail "attributes or tags"
expect_audit 200 KeyCreate
call POST "/keys/web-ec/create?api-version=2025-07-01" "{\"kty\":\"$EC\",\"crv\":\"P-256\",\"key_ops\":[\"sign\",\"verify\"]}"
expect 200
[ "$(field .key.crv)" = P-256 ] && [ "$(field '.key.key_ops | join(",")')" = "sign,verify" ] || fail "EC bundle"
# The keystore keeps a name to one key: create on an existing name is a Conflict (docs/server.md); rotate adds a
# version.
call POST "/keys/web-rsa/create?api-version=7.4" "{\"kty\":\"$RSA\"}"
expect 409 Conflict
expect_audit 409 KeyCreate
call POST "/keys/web-rsa/rotate?api-version=7.4"
expect 200
expect_audit 200 KeyRotate
rsa_v2=$(field .key.kid)
rsa_v2=${rsa_v2##*/}
[ "$rsa_v1" != "$rsa_v2" ] || fail "a second create did not make a new version"

step "get: latest (no version, trailing slash: the SDK's form), by version, names case-insensitive"
call GET "/keys/web-rsa?api-version=$API"
expect 200
[ "$(field .key.kid)" = "http://web.vault.azkm.localhost/keys/Web-RSA/$rsa_v2" ] || fail "latest is not v2"
jwk_to_pem "$T/rsa.pem"
call GET "/keys/WEB-RSA/?api-version=$API"
expect 200
[ "${kid%/*}/$rsa_v2" = "$(field .key.kid)" ] || fail "trailing slash is not the latest"
# The JavaScript SDK percent-encodes the query parameter's name: api%2Dversion.
call GET "/keys/web-rsa/?api%2Dversion=2025-07-01"
expect 200
[ "${kid%/*}/$rsa_v2" = "$(field .key.kid)" ] || fail "api%2Dversion"
call GET "/keys/web-rsa/$rsa_v1?api-version=7.5"
expect 200
[ "$(field .key.kid)" = "$kid" ] || fail "by version"
expect_audit 200 KeyGet
call GET "/keys/web-ec/?api-version=$API"
jwk_to_pem "$T/ec.pem"

step "list keys and versions, one item per page, following nextLink"
names=()
next="/keys?api-version=$API&maxresults=1"
for _ in 1 2 3; do
    call GET "$next"
    expect 200
    [ "$(field '.value | length')" = 1 ] || fail "page size"
    names+=("$(field '.value[0].kid')")
    link=$(field .nextLink)
    [ "$link" = null ] && break
    [[ "$link" == http://web.vault.azkm.localhost/keys\?* ]] || fail "nextLink $link"
    next=${link#http://web.vault.azkm.localhost}
done
[ "${names[*]}" = "http://web.vault.azkm.localhost/keys/web-ec http://web.vault.azkm.localhost/keys/Web-RSA" ] ||
    fail "listed ${names[*]}"
[ "$link" = null ] || fail "the last page has a nextLink"
call GET "/keys/web-rsa/versions?api-version=$API&maxresults=1"
expect 200
[ "$(field '.value[0].kid')" = "$kid" ] || fail "first version"
next=$(field .nextLink)
call GET "${next#http://web.vault.azkm.localhost}"
[ "$(field '.value[0].kid | split("/") | last')" = "$rsa_v2" ] && [ "$(field .nextLink)" = null ] || fail "page 2"
expect_audit 200 KeyListVersions

step "versions are listed in the order they were made, also when made within one second"
call POST "/keys/order/create?api-version=$API" "{\"kty\":\"$EC\",\"crv\":\"P-256\"}"
expect 200
made=("$(field .key.kid)")
for _ in 1 2 3 4 5; do
    call POST "/keys/order/rotate?api-version=$API"
    expect 200
    made+=("$(field .key.kid)")
done
call GET "/keys/order/versions?api-version=$API"
expect 200
[ "$(field '[.value[].kid] | join(" ")')" = "${made[*]}" ] || fail "versions listed out of order: $(field '[.value[].kid]')"
call DELETE "/keys/order?api-version=$API"
expect 200

step "sign: RS256 and PS256 (versionless, the SDK's //sign), ES256; verified by openssl with the JWK's key"
printf 'message for azkmd' >"$T/msg"
digest=$(openssl dgst -sha256 -binary "$T/msg" | base64 -w0 | tr '+/' '-_' | tr -d '=')
for alg in RS256 PS256; do
    call POST "/keys/web-rsa//sign?api-version=$API" "{\"alg\":\"$alg\",\"value\":\"$digest\"}"
    expect 200
    [ "$(field .kid)" = "${kid%/*}/$rsa_v2" ] || fail "sign kid"
    b64url_decode "$(field .value)" "$T/$alg.sig"
    opts=()
    [ $alg = PS256 ] && opts=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
    openssl dgst -sha256 "${opts[@]}" -verify "$T/rsa.pem" -signature "$T/$alg.sig" "$T/msg" >/dev/null ||
        fail "$alg signature does not verify with openssl"
done
expect_audit 200 KeySign
call POST "/keys/web-ec//sign?api-version=$API" "{\"alg\":\"ES256\",\"value\":\"$digest\"}"
expect 200
b64url_decode "$(field .value)" "$T/es.raw"
[ "$(stat -c %s "$T/es.raw")" = 64 ] || fail "ES256 signature is not r||s of 64 bytes"
raw_to_der "$T/es.raw" "$T/es.der"
openssl dgst -sha256 -verify "$T/ec.pem" -signature "$T/es.der" "$T/msg" >/dev/null || fail "ES256 with openssl"
es=$(field .value)

step "verify: true for the signatures, false for another digest"
call POST "/keys/web-ec//verify?api-version=$API" "{\"alg\":\"ES256\",\"digest\":\"$digest\",\"value\":\"$es\"}"
expect 200
[ "$(field .value)" = true ] || fail "ES256 verify"
other=$(printf other | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
call POST "/keys/web-ec//verify?api-version=$API" "{\"alg\":\"ES256\",\"digest\":\"$other\",\"value\":\"$es\"}"
[ "$(field .value)" = false ] || fail "ES256 verify of another digest"
ps=$(b64url_encode "$T/PS256.sig")
call POST "/keys/web-rsa/$rsa_v2/verify?api-version=$API" "{\"alg\":\"PS256\",\"digest\":\"$digest\",\"value\":\"$ps\"}"
[ "$(field .value)" = true ] || fail "PS256 verify"
expect_audit 200 KeyVerify

step "decrypt what openssl encrypted with the public key (RSA-OAEP-256); encrypt/decrypt round trip (RSA-OAEP)"
printf 'the plaintext 0123456789' >"$T/plain"
openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
    -pkeyopt rsa_mgf1_md:sha256 -in "$T/plain" -out "$T/ct"
call POST "/keys/web-rsa//decrypt?api-version=$API" "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$(b64url_encode "$T/ct")\"}"
expect 200
b64url_decode "$(field .value)" "$T/dec"
cmp -s "$T/plain" "$T/dec" || fail "decrypt of openssl's ciphertext"
expect_audit 200 KeyDecrypt
call POST "/keys/web-rsa//encrypt?api-version=$API" "{\"alg\":\"RSA-OAEP\",\"value\":\"$(b64url_encode "$T/plain")\"}"
expect 200
ct=$(field .value)
call POST "/keys/web-rsa//decrypt?api-version=$API" "{\"alg\":\"RSA-OAEP\",\"value\":\"$ct\"}"
b64url_decode "$(field .value)" "$T/dec2"
cmp -s "$T/plain" "$T/dec2" || fail "encrypt/decrypt round trip"

step "wrapkey / unwrapkey: RSA-OAEP-256 (unwrapping what openssl wrapped), and A256KW with an oct key"
openssl rand 32 >"$T/cek"
openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
    -pkeyopt rsa_mgf1_md:sha256 -in "$T/cek" -out "$T/wrapped"
call POST "/keys/web-rsa//unwrapkey?api-version=$API" \
    "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$(b64url_encode "$T/wrapped")\"}"
expect 200
b64url_decode "$(field .value)" "$T/cek2"
cmp -s "$T/cek" "$T/cek2" || fail "unwrapkey of openssl's wrapping"
expect_audit 200 KeyUnwrap
call POST "/keys/kek/create?api-version=$API" "{\"kty\":\"$OCT\",\"key_size\":256}"
expect 200
[ "$(field .key.kty)" = "$OCT" ] && [ "$(field '.key | has("k")')" = false ] || fail "oct bundle shows key material"
call POST "/keys/kek//wrapkey?api-version=$API" "{\"alg\":\"A256KW\",\"value\":\"$(b64url_encode "$T/cek")\"}"
expect 200
expect_audit 200 KeyWrap
w=$(field .value)
call POST "/keys/kek//unwrapkey?api-version=$API" "{\"alg\":\"A256KW\",\"value\":\"$w\"}"
expect 200
b64url_decode "$(field .value)" "$T/cek3"
cmp -s "$T/cek" "$T/cek3" || fail "A256KW round trip"

step "headers: x-ms-request-id, the client's request id echoed, Cache-Control, service version"
CURL_EXTRA=(-H 'x-ms-client-request-id: 0f9e2c1a-1111-4222-8333-444455556666')
call GET "/keys/web-ec?api-version=$API"
CURL_EXTRA=()
tr -d '\r' <"$T/headers" >"$T/h"
grep -qi '^x-ms-request-id: [0-9a-f-]\{36\}$' "$T/h" || fail "x-ms-request-id"
grep -qi '^x-ms-client-request-id: 0f9e2c1a-1111-4222-8333-444455556666$' "$T/h" || fail "client request id echo"
grep -qi '^cache-control: no-cache$' "$T/h" || fail "Cache-Control"
grep -qi '^x-ms-keyvault-service-version: ' "$T/h" || fail "service version"
grep -qi '^content-type: application/json' "$T/h" || fail "content type"
[ "$(audit_last | jq -r .clientRequestId)" = 0f9e2c1a-1111-4222-8333-444455556666 ] || fail "audit clientRequestId"

step "x-ms-request-id: a version 4 UUID, a different one on each of 70 requests on one connection"
urls=()
for _ in $(seq 70); do urls+=("http://$VAULT.$DOMAIN/keys/web-ec?api-version=$API"); done
curl -sS --max-time 10 --unix-socket "$SOCK" -o /dev/null -D - "${urls[@]}" | tr -d '\r' |
    sed -n 's/^[Xx]-[Mm][Ss]-[Rr]equest-[Ii]d: //p' >"$T/ids"
CALLS=$((CALLS + 70)) # each one audited
[ "$(wc -l <"$T/ids")" = 70 ] || fail "request ids: $(wc -l <"$T/ids") of 70"
[ "$(sort -u "$T/ids" | wc -l)" = 70 ] || fail "request ids repeat"
grep -vq '^[0-9a-f]\{8\}-[0-9a-f]\{4\}-4[0-9a-f]\{3\}-[89ab][0-9a-f]\{3\}-[0-9a-f]\{12\}$' "$T/ids" &&
    fail "a request id is not a version 4 UUID: $(grep -v '^[0-9a-f-]*$' "$T/ids" | head -1)"

step "audit: one record per request, principal and method recorded, no key material or plaintext"
rec=$(audit_last)
[ "$(jq -r '.identity.principals[0]' <<<"$rec")" = "uid:$(id -u)" ] || fail "audit principal"
[ "$(jq -r .identity.authenticatedBy <<<"$rec")" = PeerCredentials ] || fail "audit method"
[ "$(audit_count)" = "$CALLS" ] || fail "expected $CALLS request records, found $(audit_count)"
for secret in "$(b64url_encode "$T/plain")" "$(b64url_encode "$T/cek")" "$digest" "$es" "$ct"; do
    ! grep -qF -- "$secret" "$AZKM_AUDIT_LOG" || fail "the audit log holds request or response data"
done

step "SIGTERM: azkmd stops, removes its socket, exits 0"
kill -TERM "$AZKMD_PID"
wait "$AZKMD_PID" || fail "azkmd exited $?"
AZKMD_PID=
grep -q '^azkmd: stopped' "$T/azkmd.log" || fail "no stop message"
[ ! -e "$SOCK" ] || fail "socket left behind"
echo "PASS"
