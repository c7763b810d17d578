#!/usr/bin/env bash
# BYOK import through the API (PUT /keys/{name} with key.key_hsm, docs/byok.md): a transfer blob built with the
# openssl CLI alone (RSA-OAEP SHA-1 of an ephemeral AES-256 key, then AES key wrap with padding of the PKCS#8 DER)
# for a key exchange key made through azkmd imports RSA-HSM and EC-HSM keys that sign what the original key files'
# public keys verify, and an oct-HSM key whose wraps the original AES bytes unwrap. A tampered ciphertext, a kid this vault does not have, a KEK whose key_ops are not exactly
# [import], a kty that is not -HSM and a kty that is not the blob's each get their 4xx and an audit line, and leave
# no key behind. On the software tier (no token) key_hsm is a 400 naming the missing token.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
printf 'brought' >"$T/msg"
digest=$(openssl dgst -sha256 -binary "$T/msg" | base64 -w0 | tr '+/' '-_' | tr -d '=')

# blob KEK_KID KEK_PUB_PEM TARGET_PEM|AES_KEY_FILE [raw]: the transfer blob (JSON) on stdout, as docs/byok.md builds
# it by hand (raw: the target is AES key bytes, not a private key file).
blob() {
    if [ "${4-}" = raw ]; then
        cp "$3" "$T/target.der"
    else
        openssl pkcs8 -topk8 -nocrypt -in "$3" -outform DER -out "$T/target.der"
    fi
    openssl rand 32 >"$T/aes.bin"
    openssl pkeyutl -encrypt -pubin -inkey "$2" -in "$T/aes.bin" -out "$T/rsa.bin" -pkeyopt rsa_padding_mode:oaep \
        -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1
    openssl enc -id-aes256-wrap-pad -K "$(hex_of "$T/aes.bin")" -iv A65959A6 -in "$T/target.der" -out "$T/kw.bin"
    cat "$T/rsa.bin" "$T/kw.bin" >"$T/ct.bin"
    jq -c -n --arg kid "$1" --arg ct "$(b64url_encode "$T/ct.bin")" \
        '{schema_version:"1.0.0",header:{kid:$kid,alg:"dir",enc:"CKM_RSA_AES_KEY_WRAP"},ciphertext:$ct,generator:"openssl"}'
    rm -f "$T/aes.bin" "$T/target.der"
}
# import_body KTY BLOBFILE [KEY_OPS_JSON]: the PUT body with key_hsm = base64url of the blob's bytes.
import_body() {
    jq -c -n --arg kty "$1" --arg hsm "$(b64url_encode "$2")" --argjson ops "${3:-null}" \
        '{key: ({kty: $kty, key_hsm: $hsm} + (if $ops then {key_ops: $ops} else {} end)), tags: {via: "byok"}}'
}
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/target.pem" 2>/dev/null

if [ "$AZKMD_TEST_TIER" = software ]; then
    step "software tier: key_hsm needs a vault on a token"
    printf '{}' >"$T/empty.byok"
    call PUT "/keys/byok?api-version=$API" "$(import_body RSA-HSM "$T/empty.byok")"
    expect 400 BadParameter
    field .error.message | grep -q 'HSM (PKCS#11) tier' || fail "message: $(field .error.message)"
    expect_audit 400 KeyImport
    echo "PASS"
    exit 0
fi

step "a key exchange key made through azkmd, its public key and kid"
call POST "/keys/kek/create?api-version=$API" '{"kty":"RSA-HSM","key_size":2048,"key_ops":["import"]}'
expect 200
KEK_KID=$(field .key.kid)
jwk_to_pem "$T/kek.pub.pem"

step "RSA-HSM: import a blob made with openssl, sign RS256, verify with the original key file"
blob "$KEK_KID" "$T/kek.pub.pem" "$T/target.pem" >"$T/rsa.byok"
call PUT "/keys/byok-rsa?api-version=$API" "$(import_body RSA-HSM "$T/rsa.byok" '["sign","verify"]')"
expect 200
[ "$(field .key.kty)" = RSA-HSM ] && [ "$(field '.key.key_ops | join(",")')" = sign,verify ] &&
    [ "$(field .tags.via)" = byok ] || fail "import bundle"
expect_audit 200 KeyImport
call POST "/keys/byok-rsa//sign?api-version=$API" "{\"alg\":\"RS256\",\"value\":\"$digest\"}"
expect 200
b64url_decode "$(field .value)" "$T/rsa.sig"
openssl dgst -sha256 -verify <(openssl pkey -in "$T/target.pem" -pubout) -signature "$T/rsa.sig" "$T/msg" \
    >/dev/null || fail "openssl rejects the imported RSA key's signature"

step "EC-HSM P-256: import, sign ES256, verify with the original key file"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem"
blob "$KEK_KID" "$T/kek.pub.pem" "$T/ec.pem" >"$T/ec.byok"
call PUT "/keys/byok-ec?api-version=$API" "$(import_body EC-HSM "$T/ec.byok")"
expect 200
[ "$(field .key.kty)/$(field .key.crv)" = EC-HSM/P-256 ] || fail "EC import bundle"
call POST "/keys/byok-ec//sign?api-version=$API" "{\"alg\":\"ES256\",\"value\":\"$digest\"}"
expect 200
b64url_decode "$(field .value)" "$T/ec.raw"
raw_to_der "$T/ec.raw" "$T/ec.sig"
openssl dgst -sha256 -verify <(openssl pkey -in "$T/ec.pem" -pubout) -signature "$T/ec.sig" "$T/msg" >/dev/null ||
    fail "openssl rejects the imported EC key's signature"

step "oct-HSM (AES-256): import, wrapkey A256KW through azkmd, unwrap with openssl and the original bytes"
openssl rand 32 >"$T/aes.key"
blob "$KEK_KID" "$T/kek.pub.pem" "$T/aes.key" raw >"$T/aes.byok"
call PUT "/keys/byok-aes?api-version=$API" "$(import_body oct-HSM "$T/aes.byok" '["wrapKey","unwrapKey"]')"
expect 200
[ "$(field .key.kty)" = oct-HSM ] && [ "$(field '.key | has("k")')" = false ] || fail "oct import bundle"
openssl rand 32 >"$T/dek.bin"
call POST "/keys/byok-aes//wrapkey?api-version=$API" "{\"alg\":\"A256KW\",\"value\":\"$(b64url_encode "$T/dek.bin")\"}"
expect 200
b64url_decode "$(field .value)" "$T/wrapped.bin"
openssl enc -d -id-aes256-wrap -K "$(hex_of "$T/aes.key")" -iv A6A6A6A6A6A6A6A6 -in "$T/wrapped.bin" \
    -out "$T/dek.back" 2>/dev/null || fail "openssl cannot unwrap with the original AES key"
cmp -s "$T/dek.bin" "$T/dek.back" || fail "the unwrapped key differs"

step "refused: a tampered ciphertext"
jq -c '.ciphertext |= (.[0:-6] + (if .[-6:-5] == "A" then "B" else "A" end) + .[-5:])' "$T/rsa.byok" >"$T/bad.byok"
call PUT "/keys/bad-tampered?api-version=$API" "$(import_body RSA-HSM "$T/bad.byok")"
expect 400 BadParameter
field .error.message | grep -q 'does not unwrap' || fail "message: $(field .error.message)"
expect_audit 400 KeyImport

step "refused: a kid this vault does not have (another version, another vault's key)"
jq -c --arg kid "${KEK_KID%/*}/0123456789abcdef0123456789abcdef" '.header.kid = $kid' "$T/rsa.byok" >"$T/bad.byok"
call PUT "/keys/bad-kid?api-version=$API" "$(import_body RSA-HSM "$T/bad.byok")"
expect 404 KeyNotFound
expect_audit 404 KeyImport
jq -c '.header.kid = "azkm://elsewhere/keys/kek/0123456789abcdef0123456789abcdef"' "$T/rsa.byok" >"$T/bad.byok"
call PUT "/keys/bad-kid?api-version=$API" "$(import_body RSA-HSM "$T/bad.byok")"
expect 404 KeyNotFound
expect_audit 404 KeyImport

step "refused: a KEK whose key_ops are not exactly [import]"
call POST "/keys/not-kek/create?api-version=$API" '{"kty":"RSA-HSM","key_size":2048,"key_ops":["sign","verify"]}'
expect 200
kid2=$(field .key.kid)
jwk_to_pem "$T/not-kek.pub.pem"
blob "$kid2" "$T/not-kek.pub.pem" "$T/target.pem" >"$T/bad.byok"
call PUT "/keys/bad-kek?api-version=$API" "$(import_body RSA-HSM "$T/bad.byok")"
expect 403 Forbidden
field .error.message | grep -q 'exactly \[import\]' || fail "message: $(field .error.message)"
expect_audit 403 KeyImport

step "refused: a kty that is not -HSM, a kty that is not the blob's, a malformed blob, key_hsm not base64url"
call PUT "/keys/bad-kty?api-version=$API" "$(import_body RSA "$T/rsa.byok")"
expect 400 BadParameter
field .error.message | grep -q 'RSA-HSM, EC-HSM or oct-HSM' || fail "message: $(field .error.message)"
expect_audit 400 KeyImport
call PUT "/keys/bad-kty?api-version=$API" "$(import_body EC-HSM "$T/rsa.byok")"
expect 400 BadParameter
expect_audit 400 KeyImport
printf '{"schema_version":"1.0.0"}' >"$T/bad.byok"
call PUT "/keys/bad-blob?api-version=$API" "$(import_body RSA-HSM "$T/bad.byok")"
expect 400 BadParameter
field .error.message | grep -q 'no header' || fail "message: $(field .error.message)"
call PUT "/keys/bad-blob?api-version=$API" '{"key":{"kty":"RSA-HSM","key_hsm":"!!"}}'
expect 400 BadParameter
expect_audit 400 KeyImport

step "nothing left behind; no key material in the audit log"
call GET "/keys?api-version=$API"
[ "$(field '[.value[].kid | split("/") | last] | join(",")')" = byok-aes,byok-ec,byok-rsa,kek,not-kek ] ||
    fail "keys left: $(field '[.value[].kid] | join(",")')"
! grep -qF "$(jq -r .ciphertext "$T/rsa.byok" | cut -c1-40)" "$AZKM_AUDIT_LOG" || fail "the blob in the audit log"
echo "PASS"
