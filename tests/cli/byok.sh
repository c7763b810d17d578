#!/usr/bin/env bash
# Bring your own key in Azure's format: a KEK made with --ops import, a transfer blob built step by step with the
# openssl CLI imports and signs, `azkm byok wrap` moves RSA, EC and AES keys into the token, the imported keys are
# sensitive and not extractable on the token, and a KEK without import, a blob for another KEK and a damaged blob
# are refused with one clear error each.
. "$(dirname "$0")/lib.sh"

MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MODULE" ] || fail "SoftHSM is not installed ($MODULE; scripts/setup.sh installs softhsm2)"
mkdir -p "$TMP/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP" >softhsm2.conf
export SOFTHSM2_CONF="$TMP/softhsm2.conf" AZKM_AUDIT_LOG="$TMP/audit.jsonl"
softhsm2-util --init-token --free --label byok --pin 1234 --so-pin 87654321 >/dev/null
printf '1234\n' >pin && chmod 600 pin
ok azkm vault create --name dst --hsm-module $MODULE --hsm-token byok --hsm-pin-source "file:$TMP/pin" >/dev/null
printf 'bring your own key' >msg

step "a key exchange key: RSA-HSM with key_ops exactly import"
j=$(ok azkm key create --vault-name dst --name kek --kty RSA-HSM --size 3072 --ops import --output json)
kid=$(jqr .key.kid "$j")
expect_eq "$(jq -c .key.key_ops <<<"$j")" '["import"]' "KEK key_ops"
ok azkm key download --vault-name dst --name kek --file kek.pem
should_fail 2 "exactly the import operation" azkm key create --vault-name dst --name bad --kty RSA-HSM --ops import sign

step "a blob built with the openssl CLI, as Azure's BYOK specification describes, imports and signs"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out target.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in target.pem -outform DER -out target.der
openssl rand 32 >aes.bin
openssl pkeyutl -encrypt -pubin -inkey kek.pem -in aes.bin -out rsa.bin -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1
openssl enc -id-aes256-wrap-pad -K "$(od -An -tx1 -v aes.bin | tr -d ' \n')" -iv A65959A6 -in target.der -out kw.bin
ct=$(cat rsa.bin kw.bin | base64 -w0 | tr '+/' '-_' | tr -d '=')
jq -n --arg kid "$kid" --arg ct "$ct" \
    '{schema_version:"1.0.0",header:{kid:$kid,alg:"dir",enc:"CKM_RSA_AES_KEY_WRAP"},ciphertext:$ct,generator:"openssl"}' \
    >target.byok
j=$(ok azkm key import --vault-name dst --name web-tls --byok-file target.byok --output json)
expect_eq "$(jqr .key.kty "$j")" RSA-HSM "imported kty"
expect_eq "$(jqr .attributes.exportable "$j")" false "not exportable"
ok azkm key download --vault-name dst --name web-tls --file web-tls.pub.pem
cmp <(openssl pkey -pubin -in web-tls.pub.pem -outform DER) <(openssl pkey -in target.pem -pubout -outform DER) ||
    fail "the imported key's public key is not the target's"
ok azkm key sign --vault-name dst --name web-tls --algorithm PS256 --data-file msg --signature-file msg.sig >/dev/null
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify web-tls.pub.pem \
    -signature msg.sig msg >/dev/null || fail "openssl rejects the signature of the imported key"

step "on the token the imported key is sensitive and not extractable, and the transfer key is gone"
objs=$(pkcs11-tool --module $MODULE --token-label byok --pin 1234 --list-objects 2>/dev/null)
web=$(grep -A6 "azkm:dst/web-tls/" <<<"$objs")
expect_match "$web" "Access: +sensitive" "sensitive"
if grep -Eq "Access:.*(^|[ ,])extractable" <<<"$web"; then fail "the imported key is extractable: $web"; fi
expect_eq "$(grep -c 'Secret Key Object' <<<"$objs" || true)" 0 "secret objects left on the token"

step "azkm byok wrap: EC and AES keys move in too (KEK public key from the keystore)"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec.pem
ok azkm byok wrap --file ec.pem --kek-id "$kid" --out-file ec.byok
expect_eq "$(jq -r .header.enc ec.byok)/$(jq -r .header.alg ec.byok)/$(jq -r .schema_version ec.byok)" \
    "CKM_RSA_AES_KEY_WRAP/dir/1.0.0" "blob header"
ok azkm key import --vault-name dst --name signer --byok-file ec.byok --kty EC-HSM >/dev/null
ok azkm key sign --vault-name dst --name signer --algorithm ES384 --data-file msg --signature-file ec.sig >/dev/null
openssl dgst -sha384 -verify <(openssl pkey -in ec.pem -pubout) -signature ec.sig msg >/dev/null ||
    fail "openssl rejects the signature of the imported EC key"
openssl rand 32 >data.key
ok azkm byok wrap --file data.key --kty oct --kek-id "$kid" --kek-public-key kek.pem --out-file data.byok
j=$(ok azkm key import --vault-name dst --name data-key --byok-file data.byok --kty oct-HSM --output json)
expect_eq "$(jqr .key.kty "$j")" oct-HSM "oct kty"
# what the imported AES key wraps, the original bytes unwrap (RFC 3394 with openssl)
openssl rand 32 >dek.bin
w=$(ok azkm key wrap --vault-name dst --name data-key --algorithm A256KW --value "$(b64 dek.bin)" --output json |
    jq -r .result)
base64 -d <<<"$(tr -- '-_' '+/' <<<"$w")==" 2>/dev/null >wrapped.bin || true
openssl enc -d -id-aes256-wrap -K "$(od -An -tx1 -v data.key | tr -d ' \n')" -iv A6A6A6A6A6A6A6A6 \
    -in wrapped.bin -out dek.back 2>/dev/null || fail "openssl cannot unwrap with the original AES key"
cmp dek.bin dek.back || fail "the imported AES key is not the original"

step "refusals: a KEK without import, a blob for another KEK, a damaged blob"
ok azkm key create --vault-name dst --name not-kek --kty RSA-HSM >/dev/null
nk=$(jqr .key.kid "$(ok azkm key show --vault-name dst --name not-kek --output json)")
ok azkm byok wrap --file target.pem --kek-id "$nk" --out-file nk.byok
expect_match "$(cat "$TMP/ok.err")" "^azkm: warning: key exchange key $nk is not import-only \(key_ops: encrypt,decrypt,sign,verify,wrapKey,unwrapKey\): an import of this blob will be refused" \
    "byok wrap warns about a KEK that is not import-only"
ok azkm key create --vault-name dst --name off-kek --kty RSA-HSM --ops import --enabled false >/dev/null
ok_kid=$(jqr .key.kid "$(ok azkm key show --vault-name dst --name off-kek --output json)")
ok azkm byok wrap --file target.pem --kek-id "$ok_kid" --out-file off.byok
expect_match "$(cat "$TMP/ok.err")" "^azkm: warning: key exchange key $ok_kid is disabled: an import of this blob will be refused" \
    "byok wrap warns about a disabled KEK"
ok azkm byok wrap --file target.pem --kek-id "$kid" --out-file quiet.byok
expect_eq "$(cat "$TMP/ok.err")" "" "no warning for a usable KEK"
should_fail 4 "not a key exchange key: its key_ops must be exactly \[import\]" \
    azkm key import --vault-name dst --name x --byok-file nk.byok
openssl genpkey -algorithm RSA -out other.pem 2>/dev/null
openssl pkey -in other.pem -pubout -out other.pub
ok azkm byok wrap --file target.pem --kek-id "$kid" --kek-public-key other.pub --out-file other.byok
should_fail 6 "does not decrypt with the key exchange key.*another KEK" \
    azkm key import --vault-name dst --name x --byok-file other.byok
jq --arg kid "azkm://elsewhere/keys/kek/${kid##*/}" '.header.kid = $kid' target.byok >elsewhere.byok
should_fail 3 "in vault elsewhere, not in vault dst" azkm key import --vault-name dst --name x --byok-file elsewhere.byok
python3 - <<'PY'
import json
d = json.load(open("target.byok"))
c = d["ciphertext"]
i = len(c) - 10
d["ciphertext"] = c[:i] + ("A" if c[i] != "A" else "B") + c[i + 1:]
json.dump(d, open("damaged.byok", "w"))
PY
should_fail 6 "ciphertext is damaged" azkm key import --vault-name dst --name x --byok-file damaged.byok
head -c 120 target.byok >cut.byok
should_fail 2 "not a JSON object" azkm key import --vault-name dst --name x --byok-file cut.byok
jq '.header.enc = "RSA-OAEP"' target.byok >enc.byok
should_fail 1 "only alg dir, enc CKM_RSA_AES_KEY_WRAP" azkm key import --vault-name dst --name x --byok-file enc.byok
should_fail 3 "key dst/x not found" azkm key show --vault-name dst --name x
should_fail 2 "either --file or --byok-file" azkm key import --vault-name dst --name x --byok-file target.byok --file k

step "imports and refusals are in the audit log"
audit=$(cat "$AZKM_AUDIT_LOG")
expect_match "$audit" '"operationName":"KeyImport","resultType":"Success".*"key":"web-tls"' "import audited"
expect_match "$audit" '"operationName":"KeyImport","resultType":"Failure".*does not decrypt with the key exchange key' \
    "refusal audited"
if grep -q "$(od -An -tx1 -v aes.bin | tr -d ' \n')" "$AZKM_AUDIT_LOG"; then fail "key material in the audit log"; fi

pass
