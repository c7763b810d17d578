#!/usr/bin/env bash
# openssl pkey -pubout on azkm: URIs (current and explicit version) gives the keystore's public key.
. "$(dirname "$0")/lib.sh"

for k in rsa1 ec1 ec384; do
    openssl pkey -in "azkm://vault1/keys/$k" -pubout -out "$k.pub"
    openssl pkey -in "azkm://vault1/keys/$k/$(version_of $k)" -pubout -out "$k.v.pub"
    cmp "$k.pub" "$k.v.pub" || fail "$k: versioned URI gives another key"
    plain pkey -pubin -in "$k.pub" -noout || fail "$k: default provider cannot read the public key"
done
plain pkey -pubin -in rsa1.pub -text -noout | grep -q "Public-Key: (2048 bit)" || fail "rsa1 is not RSA-2048"
plain pkey -pubin -in ec384.pub -text -noout | grep -q "NIST CURVE: P-384" || fail "ec384 is not P-384"
# An older version stays addressable after rotation.
openssl pkey -in "azkm://vault1/keys/rot/$(version_of rot)" -pubout -out rot1.pub
openssl pkey -in "azkm://vault1/keys/rot" -pubout -out rot2.pub
cmp -s rot1.pub rot2.pub && fail "rotation did not change the current public key"
openssl pkey -in "azkm://vault1/keys/rot/$(version_of rot-current)" -pubout | cmp - rot2.pub
# -pubin asks the store for a public key only.
openssl pkey -pubin -in azkm://vault1/keys/ec1 -pubout | cmp - ec1.pub
echo "PASS"
