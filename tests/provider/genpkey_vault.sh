#!/usr/bin/env bash
# openssl genpkey with azkm: the key is created inside a vault and the output file is a key reference that
# loads it again; without azkm parameters nothing is created.
. "$(dirname "$0")/lib.sh"

openssl genpkey -propquery '?provider=azkm' -algorithm EC -pkeyopt group:P-384 \
    -pkeyopt azkm-uri:azkm://vault1/keys/gen-ec "${TIER_PKEYOPTS[@]}" -out gen-ec.pem
grep -q "BEGIN AZKM KEY REFERENCE" gen-ec.pem || fail "genpkey did not write a key reference"
grep -q "PRIVATE KEY" gen-ec.pem && fail "genpkey wrote private key material"
openssl pkey -in gen-ec.pem -pubout -out a.pub
openssl pkey -in azkm://vault1/keys/gen-ec -pubout -out b.pub
cmp a.pub b.pub || fail "reference and URI give different keys"
plain pkey -pubin -in a.pub -text -noout | grep -q "NIST CURVE: P-384" || fail "not a P-384 key"
if hsm_tier; then
    OPENSSL_CONF=/dev/null p11tool "$HSM_TOKEN" --list-objects --type privkey 2>/dev/null |
        grep -q "label: *azkm:vault1/gen-ec/" ||
        fail "azkm-hsm:1 did not put gen-ec on the token"
fi

openssl genpkey -provider azkm -provider default -propquery '?provider=azkm' -algorithm RSA -pkeyopt bits:3072 \
    -pkeyopt azkm-vault:vault1 -pkeyopt azkm-name:gen-rsa "${TIER_PKEYOPTS[@]}" -out gen-rsa.pem
openssl pkey -in gen-rsa.pem -pubout | plain pkey -pubin -text -noout | grep -q "(3072 bit)" || fail "not RSA-3072"
echo hi >data
openssl dgst -sha256 -sign gen-rsa.pem -out sig data
plain dgst -sha256 -verify <(openssl pkey -in gen-rsa.pem -pubout) -signature sig data | grep -q "Verified OK"

# Ed25519 and Ed448 into the vault: OKP keys that sign pure EdDSA the default provider verifies.
openssl genpkey -propquery '?provider=azkm' -algorithm ED25519 -pkeyopt azkm-uri:azkm://vault1/keys/gen-ed \
    "${TIER_PKEYOPTS[@]}" -out gen-ed.pem
openssl genpkey -provider default -provider azkm -propquery '?provider=azkm' -algorithm ED448 \
    -pkeyopt azkm-vault:vault1 -pkeyopt azkm-name:gen-ed448 "${TIER_PKEYOPTS[@]}" -out gen-ed448.pem
for k in gen-ed:ED25519 gen-ed448:ED448; do
    name=${k%%:*} alg=${k#*:}
    grep -q "BEGIN AZKM KEY REFERENCE" $name.pem || fail "genpkey $alg did not write a key reference"
    openssl pkey -in $name.pem -text -noout | grep -q "azkm private key azkm://vault1/keys/$name/" ||
        fail "$name: the reference does not name the vault key"
    if hsm_tier; then
        OPENSSL_CONF=/dev/null p11tool "$HSM_TOKEN" --list-objects --type privkey 2>/dev/null |
            grep -q "label: *azkm:vault1/$name/" || fail "azkm-hsm:1 did not put $name on the token"
    fi
    openssl pkey -in $name.pem -pubout -out $name.pub
    plain pkey -pubin -in $name.pub -text -noout | grep -q "^$alg Public-Key" || fail "$name: not an $alg key"
    openssl pkeyutl -sign -rawin -inkey $name.pem -in data -out $name.sig
    plain pkeyutl -verify -rawin -pubin -inkey $name.pub -in data -sigfile $name.sig >/dev/null ||
        fail "$name: the default provider rejects the signature"
done
should_fail "azkm-uri" openssl genpkey -propquery '?provider=azkm' -algorithm ED25519
# Without azkm in the property query, an Ed25519 genpkey is the default provider's, in either load order.
for order in "azkm default" "default azkm"; do
    set -- $order
    OPENSSL_CONF=/dev/null openssl genpkey -provider $1 -provider $2 -algorithm ED25519 -out soft-ed.pem
    grep -q "BEGIN PRIVATE KEY" soft-ed.pem || fail "-provider $1 -provider $2: Ed25519 genpkey was taken by azkm"
    plain pkey -in soft-ed.pem -check -noout >/dev/null || fail "-provider $1 -provider $2: not a valid Ed25519 key"
done
should_fail "azkm-uri" openssl genpkey -propquery '?provider=azkm' -algorithm EC -pkeyopt group:P-256
should_fail "already exists|Conflict|conflict" openssl genpkey -propquery '?provider=azkm' -algorithm EC \
    -pkeyopt azkm-uri:azkm://vault1/keys/gen-ec
should_fail "P-256, P-384 or P-521" openssl genpkey -propquery '?provider=azkm' -algorithm EC \
    -pkeyopt group:secp256k1 -pkeyopt azkm-uri:azkm://vault1/keys/gen-k1
# Without azkm in the property query, genpkey stays with the default provider (no vault key is made).
openssl genpkey -algorithm EC -pkeyopt group:P-256 -out soft.pem
grep -q "BEGIN PRIVATE KEY" soft.pem || fail "software genpkey was taken over by azkm"
echo "PASS"
