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

should_fail "azkm-uri" openssl genpkey -propquery '?provider=azkm' -algorithm EC -pkeyopt group:P-256
should_fail "already exists|Conflict|conflict" openssl genpkey -propquery '?provider=azkm' -algorithm EC \
    -pkeyopt azkm-uri:azkm://vault1/keys/gen-ec
should_fail "P-256, P-384 or P-521" openssl genpkey -propquery '?provider=azkm' -algorithm EC \
    -pkeyopt group:secp256k1 -pkeyopt azkm-uri:azkm://vault1/keys/gen-k1
# Without azkm in the property query, genpkey stays with the default provider (no vault key is made).
openssl genpkey -algorithm EC -pkeyopt group:P-256 -out soft.pem
grep -q "BEGIN PRIVATE KEY" soft.pem || fail "software genpkey was taken over by azkm"
echo "PASS"
