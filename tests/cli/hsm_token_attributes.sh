#!/usr/bin/env bash
# OpenSC's pkcs11-tool, an independent PKCS#11 client, sees azkm's token keys as it should: every private and
# secret key azkm generated is private (invisible without login), sensitive, always sensitive and never
# extractable; imported ones are sensitive and not extractable; their values cannot be read.
. "$(dirname "$0")/lib.sh"
hsm_tier || fail "this scenario runs on the HSM tier only (AZKM_TEST_TIER=hsm)"
command -v pkcs11-tool >/dev/null || fail "pkcs11-tool is missing (scripts/setup.sh installs opensc)"

ok vault_create --name hv1 >/dev/null
ok azkm key create --vault-name hv1 --name rsa --kty RSA-HSM >/dev/null
ok azkm key create --vault-name hv1 --name ec --kty EC-HSM --curve P-384 >/dev/null
ok azkm key rotate --vault-name hv1 --name ec >/dev/null
ok azkm key create --vault-name hv1 --name aes --kty oct-HSM >/dev/null
ok azkm key create --vault-name hv1 --name ed --kty OKP-HSM --curve Ed25519 >/dev/null
openssl genpkey -algorithm ED448 -out ed448.pem
ok azkm key import --vault-name hv1 --name ed-imp --kty OKP-HSM --file ed448.pem >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out imp.pem 2>/dev/null
ok azkm key import --vault-name hv1 --name ec-imp --kty EC-HSM --file imp.pem >/dev/null
head -c 32 /dev/urandom >imp.aes
ok azkm key import --vault-name hv1 --name aes-imp --kty oct-HSM --file imp.aes >/dev/null

# objects CLASS-REGEX: "<label>|<access>" for each token object whose type line matches, from pkcs11-tool.
objects() {
    p11tool "$HSM_TOKEN" --list-objects 2>/dev/null | awk -v re="$1" '
        /^[A-Z][a-z]+ (Key )?Object/ { keep = ($0 ~ re); label = ""; next }
        keep && /^ +label:/ { sub(/^ +label: +/, ""); label = $0 }
        keep && /^ +Access:/ { sub(/^ +Access: +/, ""); print label "|" $0 }'
}

step "every version of every key has its private or secret object on the token"
objects "^(Private|Secret) Key Object" >keys.txt
cat keys.txt >&2
expected=""
for k in rsa ec aes ed ec-imp aes-imp ed-imp; do
    for v in $(azkm key list-versions --vault-name hv1 --name $k --output json | jq -r '.[].kid' | awk -F/ '{print $NF}'); do
        expected+="azkm:hv1/$k/$v"$'\n'
    done
done
expect_eq "$(cut -d'|' -f1 keys.txt | sort)" "$(printf '%s' "$expected" | sort)" "azkm's key objects on the token"
expect_eq "$(wc -l <keys.txt)" 8 "private and secret key objects"

step "generated keys: sensitive, always sensitive, never extractable"
while IFS='|' read -r label access; do
    case $label in
    azkm:hv1/rsa/* | azkm:hv1/ec/* | azkm:hv1/aes/* | azkm:hv1/ed/*)
        expect_match "$access" "(^|, )sensitive(,|$)" "$label sensitive"
        expect_match "$access" "always sensitive" "$label always sensitive"
        expect_match "$access" "never extractable" "$label never extractable"
        ;;
    *)
        # Imported material was outside the token once: CKA_NEVER_EXTRACTABLE cannot be true, but the object
        # must be sensitive and not extractable now.
        expect_match "$access" "(^|, )sensitive(,|$)" "$label sensitive"
        ;;
    esac
    # pkcs11-tool prints "extractable" on its own only when CKA_EXTRACTABLE is true
    if grep -Eq '(^|, )extractable(,|$)' <<<"$access"; then fail "$label is extractable: $access"; fi
done <keys.txt

step "private keys are private objects: not listed without a login"
out=$(pkcs11-tool --module "$HSM_MODULE" --token-label "$HSM_TOKEN" --list-objects 2>/dev/null)
grep -q "Public Key Object" <<<"$out" || fail "no public objects listed without login: $out"
if grep -Eq "Private Key Object|Secret Key Object" <<<"$out"; then fail "key objects visible without login: $out"; fi

step "the token refuses to hand out a secret key's value"
# (pkcs11-tool does not read private keys at all; for those CKA_SENSITIVE and CKA_EXTRACTABLE above are the check)
aes_id=$(azkm key show --vault-name hv1 --name aes --output json | jq -r .key.kid | awk -F/ '{print $NF}')
if p11tool "$HSM_TOKEN" --read-object --type secrkey --id "$aes_id" -o aes.bin >p11.out 2>&1; then
    fail "pkcs11-tool read the oct-HSM key: $(cat p11.out)"
fi
grep -q "CKR_ATTRIBUTE_SENSITIVE" p11.out || fail "unexpected pkcs11-tool error: $(cat p11.out)"
[ ! -s aes.bin ] || fail "key material was written out"
pass
