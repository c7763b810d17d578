#!/usr/bin/env bash
# Vaults bound to a PKCS#11 token (SoftHSM): HSM keys are made on the token and used through it (signatures
# verify with openssl), a key already on the token is adopted, a vault's master key can be held by the token
# (--protector hsm), and a wrong PIN or a missing binding is a clear error.
. "$(dirname "$0")/lib.sh"

MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MODULE" ] || fail "SoftHSM is not installed ($MODULE; scripts/setup.sh installs softhsm2)"
mkdir -p "$TMP/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP" >softhsm2.conf
export SOFTHSM2_CONF="$TMP/softhsm2.conf"
softhsm2-util --init-token --free --label azkm --pin 1234 --so-pin 87654321 >/dev/null
printf '1234\n' >pin && chmod 600 pin
printf '9999\n' >badpin && chmod 600 badpin
printf 'hello hsm' >msg

step "a vault bound to the token"
out=$(ok azkm vault create --name hv1 --hsm-module $MODULE --hsm-token azkm --hsm-pin-source "file:$TMP/pin")
expect_match "$out" "HSM token +azkm" "binding shown"
expect_match "$out" "Protector +platform" "master key still platform-protected"

step "RSA-HSM: sign on the token, verify with openssl"
j=$(ok azkm key create --vault-name hv1 --name rsa --kty RSA-HSM --output json)
expect_eq "$(jqr .key.kty "$j")" RSA-HSM "kty"
ok azkm key download --vault-name hv1 --name rsa --file rsa.pem
ok azkm key sign --vault-name hv1 --name rsa --algorithm PS256 --data-file msg --signature-file rsa.sig >/dev/null
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify rsa.pem -signature rsa.sig \
    msg >/dev/null || fail "openssl rejects the RSA-HSM signature"
openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep -in msg -out msg.enc
ok azkm key decrypt --vault-name hv1 --name rsa --algorithm RSA-OAEP --in-file msg.enc --out-file msg.dec >/dev/null
cmp msg msg.dec || fail "RSA-HSM decrypt"

step "EC-HSM"
ok azkm key create --vault-name hv1 --name ec --kty EC-HSM --curve P-384 >/dev/null
ok azkm key download --vault-name hv1 --name ec --file ec.pem
ok azkm key sign --vault-name hv1 --name ec --algorithm ES384 --data-file msg --signature-file ec.sig >/dev/null
openssl dgst -sha384 -verify ec.pem -signature ec.sig msg >/dev/null || fail "openssl rejects the EC-HSM signature"

step "adopt a key made on the token by pkcs11-tool"
pkcs11-tool --module $MODULE --token-label azkm --pin 1234 --keypairgen --key-type EC:prime256v1 --id 77 \
    --label adopted >/dev/null 2>&1 || fail "pkcs11-tool could not make a key"
j=$(ok azkm key adopt --vault-name hv1 --name adopted --pkcs11-uri 'pkcs11:token=azkm;id=%77;type=private' \
    --output json)
expect_eq "$(jqr .key.kty "$j")" EC-HSM "adopted kty"
ok azkm key download --vault-name hv1 --name adopted --file adopted.pem
ok azkm key sign --vault-name hv1 --name adopted --algorithm ES256 --data-file msg --signature-file ad.sig >/dev/null
openssl dgst -sha256 -verify adopted.pem -signature ad.sig msg >/dev/null || fail "adopted key signature"

step "vault verify"
expect_match "$(ok azkm vault verify --name hv1)" "vault hv1: ok \(3 key versions checked\)" "verify"

step "HSM keys need a bound vault; a bad binding is refused"
ok azkm vault create --name plain >/dev/null
should_fail 1 "NotSupported: key plain/x: vault plain: the HSM \(PKCS#11\) tier is not available" \
    azkm key create --vault-name plain --name x --kty RSA-HSM
should_fail 7 "Unauthorized" azkm vault update --name plain --hsm-module $MODULE --hsm-token azkm \
    --hsm-pin-source "file:$TMP/badpin"
should_fail 2 "--hsm-token: required with --hsm-module" azkm vault update --name plain --hsm-module $MODULE
should_fail 7 "Unauthorized: .*AZKM_TEST_PIN, which is not set" azkm vault update --name plain \
    --hsm-module $MODULE --hsm-token azkm --hsm-pin-source env:AZKM_TEST_PIN
AZKM_TEST_PIN=1234 ok azkm vault update --name plain --hsm-module $MODULE --hsm-token azkm \
    --hsm-pin-source env:AZKM_TEST_PIN >/dev/null
AZKM_TEST_PIN=1234 ok azkm key create --vault-name plain --name x --kty RSA-HSM >/dev/null

step "the token holds the master key (--protector hsm)"
should_fail 2 "--protector: hsm needs the vault's token" azkm vault create --name hv2 --protector hsm
j=$(ok azkm vault create --name hv2 --protector hsm --hsm-module $MODULE --hsm-token azkm \
    --hsm-pin-source "file:$TMP/pin" --output json)
expect_eq "$(jqr .properties.protector "$j")" hsm "protector"
expect_eq "$(jqr .properties.hsm.token "$j")" azkm "token"
ok azkm key create --vault-name hv2 --name soft --kty EC >/dev/null
ok azkm key sign --vault-name hv2 --name soft --algorithm ES256 --data-file msg >/dev/null
should_fail 4 "Forbidden: .*hv2.*binding cannot change" azkm vault update --name hv2 --hsm-module $MODULE \
    --hsm-token azkm --hsm-pin-source "file:$TMP/pin"

step "a missing SoftHSM configuration is reported as missing"
SOFTHSM2_CONF=$TMP/nosuch.conf should_fail 3 "NotFound: vault hv3: PKCS#11 module $MODULE \(SoftHSM\) cannot start: its configuration file $TMP/nosuch.conf \(SOFTHSM2_CONF\) is missing" \
    azkm vault create --name hv3 --hsm-module $MODULE --hsm-token azkm --hsm-pin-source "file:$TMP/pin"
printf 'directories.tokendir = %s/gone\n' "$TMP" >gone.conf
SOFTHSM2_CONF=$TMP/gone.conf should_fail 3 "NotFound: key azkm://hv1/keys/rsa/[0-9a-f]{32}: .*its token directory $TMP/gone \(directories.tokendir in $TMP/gone.conf\) is missing" \
    azkm key sign --vault-name hv1 --name rsa --algorithm PS256 --data-file msg

step "a PIN the token rejects is in the audit log, with the reason and without the PIN"
export AZKM_AUDIT_LOG="$TMP/audit.jsonl"
# A wrong PIN that nothing else in the log can contain by chance (digits would: durations, ids, pids).
AZKM_TEST_PIN=Wrong-PIN-qz should_fail 7 "Unauthorized: .*rejected the PIN" azkm key sign --vault-name plain --name x \
    --algorithm RS256 --data-file msg
cp pin goodpin
printf 'Wrong-PIN-qz\n' >pin
should_fail 7 "Unauthorized: .*rejected the PIN" azkm key list --vault-name hv2
cp goodpin pin
audit=$(cat "$AZKM_AUDIT_LOG")
expect_match "$audit" '"operationName":"KeyLoad","resultType":"Failure","resultSignature":"Unauthorized","resultDescription":"[^"]*rejected the PIN[^"]*","durationMs":[0-9.e+-]*,"vault":"plain","key":"x"' \
    "rejected PIN on a key load audited"
expect_match "$audit" '"operationName":"VaultOpen","resultType":"Failure","resultSignature":"Unauthorized","resultDescription":"[^"]*rejected the PIN' \
    "rejected PIN on a vault open audited"
if grep -q Wrong-PIN-qz "$AZKM_AUDIT_LOG"; then fail "the PIN is in the audit log"; fi
expect_eq "$(stat -c %a "$AZKM_AUDIT_LOG")" 600 "audit log mode"
unset AZKM_AUDIT_LOG
pass
