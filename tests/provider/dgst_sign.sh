#!/usr/bin/env bash
# openssl dgst -sign with azkm keys (digest-sign path), cross-checked by the default provider alone.
. "$(dirname "$0")/lib.sh"

head -c 100000 /dev/urandom >data
for k in rsa1 ec1 ec384; do
    openssl pkey -in "azkm://vault1/keys/$k" -pubout -out "$k.pub"
    for md in sha256 sha384 sha512; do
        openssl dgst "-$md" -sign "azkm://vault1/keys/$k" -out sig.bin data
        plain dgst "-$md" -verify "$k.pub" -signature sig.bin data | grep -q "Verified OK" ||
            fail "$k $md: not verified by the default provider"
        echo "ok: $k $md"
    done
done
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sign azkm://vault1/keys/rsa1 \
    -out sig.bin data
plain dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify rsa1.pub -signature sig.bin \
    data | grep -q "Verified OK" || fail "PSS dgst signature not verified"
echo "PASS"
