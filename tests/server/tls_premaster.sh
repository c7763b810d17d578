#!/usr/bin/env bash
# decrypt in azkm's TLS premaster mode (RSA1_5 with "azkm_tls_premaster"), on the tier AZKMD_TEST_TIER names: a good
# premaster decrypts; a bad padding, a wrong length, a wrong client version and a ciphertext not below the modulus
# each get 200 and 48 random bytes, new on every call, with the same response fields and the same audit record as a
# good one. negotiated_version is accepted as OpenSSL's TLS padding mode accepts it. Plain RSA1_5 keeps Key Vault's
# semantics (a bad padding is 400), and the extension is refused where it does not apply.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd

call POST "/keys/tls-rsa/create?api-version=$API" "{\"kty\":\"$RSA\",\"key_size\":2048}"
expect 200
jwk_to_pem "$T/rsa.pem"
DEC="/keys/tls-rsa//decrypt?api-version=$API"
TLS12='"azkm_tls_premaster":{"client_version":771}'

# premaster FILE VERSION-HEX: 48 bytes, the version then 46 random ones.
premaster() {
    { hex_to_file "$2" "$T/v.bin" && cat "$T/v.bin" && openssl rand 46; } >"$1"
}
# pkcs1 IN OUT: PKCS#1 v1.5 encryption with the key's public half. raw IN OUT: the block as it is (no padding).
pkcs1() {
    openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:pkcs1 -in "$1" -out "$2"
}
raw() {
    openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pem" -pkeyopt rsa_padding_mode:none -in "$1" -out "$2"
}
# tls_decrypt CIPHERTEXT-FILE OUT [TLS-FIELD]: 200, 48 bytes in OUT, the answer's fields as a good one has them.
tls_decrypt() {
    call POST "$DEC" "{\"alg\":\"RSA1_5\",\"value\":\"$(b64url_encode "$1")\",${3:-$TLS12}}"
    expect 200
    [ "$(field '[keys[]] | join(",")')" = "azkm_tls_premaster,kid,value" ] || fail "answer fields: $(cat "$T/body")"
    [ "$(field .azkm_tls_premaster)" = true ] || fail "no azkm_tls_premaster: true"
    b64url_decode "$(field .value)" "$2"
    [ "$(stat -c %s "$2")" = 48 ] || fail "the premaster is $(stat -c %s "$2") bytes, not 48"
    expect_audit 200 KeyDecrypt
}
# same_audit: the two newest records differ only in time, duration and request ids.
same_audit() {
    jq -c 'select(.category == "AuditEvent") | del(.time, .durationMs, .requestId, .clientRequestId)' \
        "$AZKM_AUDIT_LOG" | tail -n 2 | sort -u | wc -l | grep -qx 1 || fail "the audit records differ: $(
        jq -c 'select(.category == "AuditEvent")' "$AZKM_AUDIT_LOG" | tail -n 2)"
}

step "a good premaster (TLS 1.2, client version 771) decrypts to itself"
premaster "$T/pm" 0303
pkcs1 "$T/pm" "$T/good.ct"
tls_decrypt "$T/good.ct" "$T/out"
cmp -s "$T/pm" "$T/out" || fail "the premaster did not decrypt"

step "bad padding, a 47-byte message, another version, a value over the modulus: 200, 48 random bytes each call"
{ printf '\000\001' && openssl rand 254; } >"$T/block"
raw "$T/block" "$T/badpad.ct"
head -c 47 "$T/pm" >"$T/pm47"
pkcs1 "$T/pm47" "$T/short.ct"
premaster "$T/pm-v1" 0301
pkcs1 "$T/pm-v1" "$T/version.ct"
head -c 256 /dev/zero | tr '\000' '\377' >"$T/overmod.ct"
for c in badpad short version overmod; do
    tls_decrypt "$T/good.ct" "$T/good-again"
    tls_decrypt "$T/$c.ct" "$T/$c.1"
    same_audit
    tls_decrypt "$T/$c.ct" "$T/$c.2"
    ! cmp -s "$T/$c.1" "$T/$c.2" || fail "$c: the same premaster twice (not random)"
    ! cmp -s "$T/$c.1" "$T/pm" && ! cmp -s "$T/$c.1" "$T/pm-v1" || fail "$c: the real premaster was returned"
done
! grep -qi 'padding\|premaster' "$T/azkmd.log" || fail "azkmd logged something about the padding"

step "negotiated_version: a premaster with it is accepted, as OpenSSL's TLS padding mode does"
tls_decrypt "$T/version.ct" "$T/out" '"azkm_tls_premaster":{"client_version":771,"negotiated_version":769}'
cmp -s "$T/pm-v1" "$T/out" || fail "negotiated_version 769 did not accept a premaster of version 769"

step "plain RSA1_5 keeps Key Vault's semantics: the premaster, and 400 for a bad padding"
call POST "$DEC" "{\"alg\":\"RSA1_5\",\"value\":\"$(b64url_encode "$T/good.ct")\"}"
expect 200
[ "$(field .azkm_tls_premaster)" = null ] || fail "plain RSA1_5 answered in TLS mode"
call POST "$DEC" "{\"alg\":\"RSA1_5\",\"value\":\"$(b64url_encode "$T/badpad.ct")\"}"
expect 400 BadParameter

step "the extension where it does not apply, or without a valid client version: 400 naming it"
ct=$(b64url_encode "$T/good.ct")
for body in "{\"alg\":\"RSA-OAEP\",\"value\":\"$ct\",$TLS12}" \
    "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",\"azkm_tls_premaster\":{}}" \
    "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",\"azkm_tls_premaster\":{\"client_version\":0}}" \
    "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",\"azkm_tls_premaster\":{\"client_version\":65536}}" \
    "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",\"azkm_tls_premaster\":{\"client_version\":771,\"negotiated_version\":-1}}" \
    "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",\"azkm_tls_premaster\":{\"client_version\":\"771\"}}" \
    "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",\"azkm_tls_premaster\":true}"; do
    call POST "$DEC" "$body"
    expect 400 BadParameter
    field .error.message | grep -q 'azkm_tls_premaster\|client_version' || fail "400 without naming it: $body"
done
call POST "/keys/tls-rsa//unwrapkey?api-version=$API" "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",$TLS12}"
expect 400 BadParameter
call POST "/keys/tls-rsa//encrypt?api-version=$API" "{\"alg\":\"RSA1_5\",\"value\":\"$ct\",$TLS12}"
expect 400 BadParameter

# The HSM tier decrypts the premaster with the token's raw RSA; a key object that refuses it in C_DecryptInit (played
# by tests/hsm/faulty_token.c) falls back to the token's CKM_RSA_PKCS.
if [ "$AZKMD_TEST_TIER" = hsm ] && [ -n "${FAULTY_TOKEN-}" ]; then
    step "a key object that refuses raw RSA: the token's CKM_RSA_PKCS decrypts the premaster"
    stop_azkmd
    "$AZKM" vault create --name flaky --hsm-module "$FAULTY_TOKEN" --hsm-token azkmd-test \
        --hsm-pin-source "file:$HSM_PIN_FILE" >/dev/null || fail "vault on faulty_token.so"
    "$AZKM" key create --vault-name flaky --name tls-rsa --kty RSA-HSM --size 2048 >/dev/null || fail "create"
    "$AZKM" key download --vault-name flaky --name tls-rsa --file "$T/rsa.pem" >/dev/null || fail "download"
    pkcs1 "$T/pm" "$T/flaky.ct"
    export AZKM_FAULTS=C_DecryptInit=CKR_KEY_FUNCTION_NOT_PERMITTED AZKM_FAULT_LOG=$T/faults.log
    start_azkmd
    unset AZKM_FAULTS AZKM_FAULT_LOG
    VAULT=flaky
    tls_decrypt "$T/flaky.ct" "$T/out"
    cmp -s "$T/pm" "$T/out" || fail "the premaster did not decrypt after the token refused raw RSA"
    [ "$(head -n 2 "$T/faults.log" | tr '\n' ' ')" = "C_DecryptInit fault C_DecryptInit pass " ] ||
        fail "the refusal was not played: $(cat "$T/faults.log")"
fi
echo "PASS"
