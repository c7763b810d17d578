#!/usr/bin/env bash
# Import (PUT /keys/{name}) of private JWKs made from openssl keys: the imported RSA and EC keys sign what the
# original PEM files' public keys verify, an oct key wraps and unwraps; a JWK whose parts do not form a key, a
# missing part and a BYOK key_hsm are refused with BadParameter, and no key is left behind.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
jwk() {
    python3 "$HERE/jwk_from_pem.py" "$1"
}
printf 'imported' >"$T/msg"
digest=$(openssl dgst -sha256 -binary "$T/msg" | base64 -w0 | tr '+/' '-_' | tr -d '=')

step "RSA: import, sign RS256, verify with the original key file"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
call PUT "/keys/imported-rsa?api-version=$API" "{\"key\":$(jwk "$T/rsa.pem"),\"tags\":{\"from\":\"pem\"}}"
expect 200
[ "$(field .key.kty)" = RSA ] && [ "$(field .tags.from)" = pem ] && [ "$(field '.key | has("d")')" = false ] ||
    fail "import bundle"
expect_audit 200 KeyImport
call POST "/keys/imported-rsa//sign?api-version=$API" "{\"alg\":\"RS256\",\"value\":\"$digest\"}"
expect 200
b64url_decode "$(field .value)" "$T/rsa.sig"
openssl dgst -sha256 -verify <(openssl pkey -in "$T/rsa.pem" -pubout) -signature "$T/rsa.sig" "$T/msg" >/dev/null ||
    fail "imported RSA key's signature"

step "EC P-256 with key_ops: import, sign ES256, verify with the original key file"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem"
body=$(jwk "$T/ec.pem" | jq -c '{key: (. + {key_ops: ["sign", "verify"]})}')
call PUT "/keys/imported-ec?api-version=$API" "$body"
expect 200
[ "$(field '.key.key_ops | join(",")')" = sign,verify ] || fail "key_ops from the JWK"
call POST "/keys/imported-ec//sign?api-version=$API" "{\"alg\":\"ES256\",\"value\":\"$digest\"}"
b64url_decode "$(field .value)" "$T/ec.raw"
raw_to_der "$T/ec.raw" "$T/ec.sig"
openssl dgst -sha256 -verify <(openssl pkey -in "$T/ec.pem" -pubout) -signature "$T/ec.sig" "$T/msg" >/dev/null ||
    fail "imported EC key's signature"

step "oct: import 256 bits, wrap and unwrap"
k=$(openssl rand 32 | base64 -w0 | tr '+/' '-_' | tr -d '=')
call PUT "/keys/imported-aes?api-version=$API" "{\"key\":{\"kty\":\"oct\",\"k\":\"$k\"}}"
expect 200
[ "$(field '.key | has("k")')" = false ] || fail "the oct key's bytes came back"
call POST "/keys/imported-aes//wrapkey?api-version=$API" "{\"alg\":\"A256KW\",\"value\":\"$digest\"}"
expect 200
call POST "/keys/imported-aes//unwrapkey?api-version=$API" "{\"alg\":\"A256KW\",\"value\":\"$(field .value)\"}"
[ "$(field .value)" = "$digest" ] || fail "A256KW round trip"

step "refused: parts that are not one key, a missing part, key_hsm, no key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.pem" 2>/dev/null
mixed=$(jq -c -n --argjson a "$(jwk "$T/rsa.pem")" --argjson b "$(jwk "$T/other.pem")" '{key: ($a + {d: $b.d})}')
call PUT "/keys/bad1?api-version=$API" "$mixed"
expect 400 BadParameter
field .error.message | grep -q 'do not form a valid private key' || fail "message for mixed parts"
call PUT "/keys/bad2?api-version=$API" "$(jwk "$T/ec.pem" | jq -c '{key: (del(.d))}')"
expect 400 BadParameter
field .error.message | grep -q 'key.d' || fail "message for a missing d"
call PUT "/keys/bad3?api-version=$API" '{"key":{"kty":"RSA","key_hsm":"eyJ9"}}'
expect 400 BadParameter
call PUT "/keys/bad4?api-version=$API" '{"attributes":{"enabled":true}}'
expect 400 BadParameter
call GET "/keys?api-version=$API"
[ "$(field '[.value[].kid | split("/") | last] | join(",")')" = imported-aes,imported-ec,imported-rsa ] ||
    fail "keys left: $(field '[.value[].kid] | join(",")')"
! grep -qF "$(jwk "$T/rsa.pem" | jq -r .d)" "$AZKM_AUDIT_LOG" || fail "private key material in the audit log"
echo "PASS"
