#!/usr/bin/env bash
# OpenSC's pkcs11-tool, an independent PKCS#11 client, sees azkm's token keys as it should: every private and
# secret key azkm generated is private (invisible without login), sensitive, always sensitive and never
# extractable; imported ones are sensitive and not extractable; their values cannot be read; and each object allows
# exactly the usages its key_ops need (CKA_SIGN, CKA_DECRYPT, CKA_UNWRAP, ...), also after key_ops change, which an
# object azkm may not change refuses.
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
ok azkm key create --vault-name hv1 --name signer --kty RSA-HSM --ops sign verify >/dev/null
ok azkm key create --vault-name hv1 --name kek --kty RSA-HSM --ops import >/dev/null
ok azkm key create --vault-name hv1 --name gcm --kty oct-HSM --ops encrypt decrypt >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out imp-rsa.pem 2>/dev/null
ok azkm key import --vault-name hv1 --name wrapper --kty RSA-HSM --ops wrapKey unwrapKey --file imp-rsa.pem >/dev/null
ok azkm key create --vault-name hv1 --name ecdh --kty EC-HSM --ops sign verify deriveBits >/dev/null

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
for k in rsa ec aes ed ec-imp aes-imp ed-imp signer kek gcm wrapper ecdh; do
    for v in $(azkm key list-versions --vault-name hv1 --name $k --output json | jq -r '.[].kid' | awk -F/ '{print $NF}'); do
        expected+="azkm:hv1/$k/$v"$'\n'
    done
done
expect_eq "$(cut -d'|' -f1 keys.txt | sort)" "$(printf '%s' "$expected" | sort)" "azkm's key objects on the token"
expect_eq "$(wc -l <keys.txt)" 13 "private and secret key objects"

step "generated keys: sensitive, always sensitive, never extractable"
while IFS='|' read -r label access; do
    case $label in
    azkm:hv1/rsa/* | azkm:hv1/ec/* | azkm:hv1/aes/* | azkm:hv1/ed/* | azkm:hv1/signer/* | azkm:hv1/kek/* | \
        azkm:hv1/gcm/* | azkm:hv1/ecdh/*)
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

step "each object allows exactly what its key_ops need"
# usage CLASS-REGEX NAME: pkcs11-tool's "Usage:" line of the key's (current version's) object of that class
usage() {
    local v
    v=$(azkm key show --vault-name hv1 --name "$2" --output json | jq -r .key.kid | awk -F/ '{print $NF}')
    p11tool "$HSM_TOKEN" --list-objects 2>/dev/null | awk -v re="$1" -v l="azkm:hv1/$2/$v" '
        /^[A-Z][a-z]+ (Key )?Object/ { keep = ($0 ~ re); label = ""; next }
        keep && /^ +label:/ { sub(/^ +label: +/, ""); label = $0 }
        keep && label == l && /^ +Usage:/ { sub(/^ +Usage: +/, ""); print }'
}
expect_eq "$(usage '^Private' signer)" "sign" "RSA-HSM --ops sign verify: private key"
expect_eq "$(usage '^Public' signer)" "verify" "RSA-HSM --ops sign verify: public key"
# the BYOK key exchange key: only C_UnwrapKey (RSA-OAEP) of the transfer key, which stays inside the token
expect_eq "$(usage '^Private' kek)" "unwrap" "key exchange key (import): private key"
expect_eq "$(usage '^Public' kek)" "none" "key exchange key (import): public key"
expect_eq "$(usage '^Secret' gcm)" "encrypt, decrypt" "oct-HSM --ops encrypt decrypt"
expect_eq "$(usage '^Private' wrapper)" "unwrap" "imported RSA-HSM --ops wrapKey unwrapKey: private key"
expect_eq "$(usage '^Public' wrapper)" "wrap" "imported RSA-HSM --ops wrapKey unwrapKey: public key"
expect_eq "$(usage '^Private' ec)" "sign" "EC-HSM (sign verify): private key, no derive"
expect_eq "$(usage '^Private' ecdh)" "sign, derive" "EC-HSM --ops sign verify deriveBits: private key"
expect_eq "$(usage '^Public' ecdh)" "verify" "EC-HSM --ops sign verify deriveBits: public key (ECDH needs none)"
expect_eq "$(usage '^Private' ed)" "sign" "OKP-HSM (sign verify): private key"
expect_eq "$(usage '^Private' ed-imp)" "sign" "imported OKP-HSM (sign verify): private key"
expect_eq "$(usage '^Private' rsa)" "decrypt, sign, unwrap" "RSA-HSM with every key_op: private key"
expect_eq "$(usage '^Secret' aes)" "encrypt, decrypt, wrap, unwrap" "oct-HSM with every key_op"

step "the token enforces it too: decrypt with the sign-only key through pkcs11-tool is refused"
ok azkm key download --vault-name hv1 --name signer --file signer.pem
printf 'secret' | openssl pkeyutl -encrypt -pubin -inkey signer.pem -out signer.enc
signer_id=$(azkm key show --vault-name hv1 --name signer --output json | jq -r .key.kid | awk -F/ '{print $NF}')
if p11tool "$HSM_TOKEN" --decrypt --mechanism RSA-PKCS --id "$signer_id" -i signer.enc >p11.out 2>&1; then
    fail "the token decrypted with a sign-only key: $(cat p11.out)"
fi
grep -q "CKR_KEY_FUNCTION_NOT_PERMITTED\|CKR_KEY_TYPE_INCONSISTENT" p11.out || fail "unexpected pkcs11-tool error: $(cat p11.out)"

step "key_ops changes reach the token objects"
ok azkm key set-attributes --vault-name hv1 --name signer --ops sign decrypt >/dev/null
expect_eq "$(usage '^Private' signer)" "decrypt, sign" "after --ops sign decrypt: private key"
expect_eq "$(usage '^Public' signer)" "none" "after --ops sign decrypt: public key"
ok azkm key decrypt --vault-name hv1 --name signer --algorithm RSA1_5 --in-file signer.enc --out-file signer.dec \
    >/dev/null
expect_eq "$(cat signer.dec)" secret "decrypt after the change"
ok azkm key set-attributes --vault-name hv1 --name gcm --ops wrapKey unwrapKey >/dev/null
expect_eq "$(usage '^Secret' gcm)" "wrap, unwrap" "oct-HSM after --ops wrapKey unwrapKey"
ok azkm key set-attributes --vault-name hv1 --name ec --ops sign verify deriveBits >/dev/null
expect_eq "$(usage '^Private' ec)" "sign, derive" "EC-HSM after --ops sign verify deriveBits: private key"

step "an adopted object, which azkm does not change, refuses key_ops it does not allow"
# (pkcs11-tool cannot make an object without decrypt: SoftHSM's defaults allow it. The key exchange key's object,
# which allows only unwrap, is adopted instead, as an application's object would be.)
kek_id=$(azkm key show --vault-name hv1 --name kek --output json | jq -r .key.kid | awk -F/ '{print $NF}' |
    sed 's/../%&/g')
ok azkm key adopt --vault-name hv1 --name outside --pkcs11-uri "pkcs11:token=$HSM_TOKEN;id=$kek_id;type=private" \
    --ops import >/dev/null
should_fail 1 "NotSupported: key hv1/outside: version [0-9a-f]{32} is an adopted token object, which azkm does not change, and it does not allow decrypt \(CKA_DECRYPT is false\)" \
    azkm key set-attributes --vault-name hv1 --name outside --ops decrypt
expect_eq "$(azkm key show --vault-name hv1 --name outside --output json | jq -c .key.key_ops)" '["import"]' \
    "key_ops unchanged after the refusal"
expect_eq "$(usage '^Private' kek)" "unwrap" "the adopted object is unchanged"

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
