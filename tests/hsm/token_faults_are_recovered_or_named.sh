#!/usr/bin/env bash
# Each way a token fails, played on demand by a module that passes every call to SoftHSM and fails chosen ones first
# (faulty_token.c), through the azkm CLI: a failure that can pass is recovered from (the module re-initialised,
# the token found again, the user logged in again) and the operation succeeds; one that persists is reported after
# a bounded time, saying which case it is; a rejected PIN is tried once only, a token on its final PIN try is never
# logged in to, and a decryption the token refused is not tried again.
. "$(dirname "$0")/lib.sh"
FAULTY=$HSM_BIN/faulty_token.so
"$AZKM" vault create --name flaky --hsm-module "$FAULTY" --hsm-token "$HSM_TOKEN" \
    --hsm-pin-source "file:$HSM_PIN_FILE" >/dev/null
"$AZKM" key create --vault-name flaky --name ec --kty EC-HSM >/dev/null
"$AZKM" key create --vault-name flaky --name rsa --kty RSA-HSM >/dev/null
head -c 100 /dev/urandom >data

# with_faults FAULTS CMD...: the azkm command with those faults; its output in $T/out, the calls in $T/calls.
with_faults() {
    local faults=$1
    shift
    : >"$T/calls"
    AZKM_FAULTS=$faults AZKM_FAULT_LOG=$T/calls "$AZKM" "$@" >"$T/out" 2>&1
}
calls() { grep -c "^$1 " "$T/calls" || true; }
sign() { with_faults "$1" key sign --vault-name flaky --name "${2:-ec}" --algorithm "${3:-ES256}" --data-file data; }

echo "== failures that pass: the operation succeeds"
for f in C_OpenSession=CKR_SLOT_ID_INVALID*2 C_Login=CKR_GENERAL_ERROR*2 C_Login=CKR_USER_PIN_NOT_INITIALIZED*3 \
    C_OpenSession=CKR_TOKEN_NOT_PRESENT*2 C_Sign=CKR_DEVICE_ERROR*2 C_SignInit=CKR_SESSION_HANDLE_INVALID*2 \
    C_GetSlotList=EMPTY*2; do
    sign "$f" || fail "$f: not recovered: $(cat "$T/out")"
    n=${f##*\*}
    [ "$(grep -c ' fault$' "$T/calls")" = "$n" ] || fail "$f: the module failed $(grep -c ' fault$' "$T/calls") calls"
    echo "ok: $f recovered"
done
sign C_Sign=CKR_GENERAL_ERROR*1 rsa PS256 || fail "RSA-PSS after CKR_GENERAL_ERROR: $(cat "$T/out")"

echo "== failures that persist: reported in bounded time, naming the case"
expect_failure() { # FAULTS REGEX
    local t0
    t0=$(date +%s%N)
    sign "$1" && fail "$1: succeeded"
    ms=$((($(date +%s%N) - t0) / 1000000))
    grep -Eq -- "$2" "$T/out" || fail "$1: the error does not say /$2/: $(cat "$T/out")"
    [ "$ms" -lt 5000 ] || fail "$1: took $ms ms to fail"
    echo "ok: $1 -> $(grep -Eo -- "$2" "$T/out" | head -1) ($ms ms)"
}
expect_failure C_Login=CKR_USER_PIN_NOT_INITIALIZED*99 \
    "logging in failed 6 times over [0-9]+ ms with CKR_USER_PIN_NOT_INITIALIZED, although the token did not reject the PIN"
[ "$(calls C_Login)" = 6 ] || fail "C_Login was called $(calls C_Login) times, expected 6"
expect_failure C_GetSlotList=EMPTY*99 "token 'azkm-procs' not found in module .*looked for it 6 times"
expect_failure C_Sign=CKR_DEVICE_ERROR*99 "signing failed: CKR_DEVICE_ERROR \[the token failed 6 times"

echo "== a rejected PIN is tried once; a token on its final try is not logged in to"
expect_failure C_Login=CKR_PIN_INCORRECT*1 "rejected the PIN \(CKR_PIN_INCORRECT\); azkm will not retry it"
[ "$(calls C_Login)" = 1 ] || fail "C_Login was called $(calls C_Login) times after a rejected PIN"
expect_failure "C_GetTokenInfo=FINAL_TRY*99,C_Login=PASS*0" "one PIN attempt is left before the token locks"
[ "$(calls C_Login)" = 0 ] || fail "C_Login was called on a token on its final try"

echo "== a decryption the token refused is not tried again (it may depend on the ciphertext)"
"$AZKM" key download --vault-name flaky --name rsa --file rsa.pub >/dev/null
OPENSSL_CONF=/dev/null openssl pkeyutl -encrypt -pubin -inkey rsa.pub -in data -out ct -pkeyopt rsa_padding_mode:pkcs1
with_faults C_Decrypt=CKR_GENERAL_ERROR*1 key decrypt --vault-name flaky --name rsa --algorithm RSA1_5 \
    --in-file ct --out-file pt && fail "the decryption succeeded"
[ "$(calls C_Decrypt)" = 1 ] || fail "C_Decrypt was called $(calls C_Decrypt) times"
with_faults "" key decrypt --vault-name flaky --name rsa --algorithm RSA1_5 --in-file ct --out-file pt ||
    fail "decrypt: $(cat "$T/out")"
cmp data pt || fail "wrong plaintext"
echo "ok: C_Decrypt=CKR_GENERAL_ERROR*1 reported after one call"
echo PASS
