#!/usr/bin/env bash
# openssl req -new -x509 and CSRs with azkm keys (ALGORITHM_ID for PKCS#1, PSS and ECDSA), verified by the
# default provider alone.
. "$(dirname "$0")/lib.sh"

for k in rsa1 ec1 ec384; do
    openssl req -new -x509 -key "azkm://vault1/keys/$k" -subj "/CN=$k" -days 1 -out "$k.crt"
    plain verify -CAfile "$k.crt" "$k.crt" | grep -q ": OK" || fail "$k: self-signed certificate does not verify"
    openssl req -new -key "azkm://vault1/keys/$k" -subj "/CN=$k" -out "$k.csr"
    plain req -in "$k.csr" -verify -noout 2>&1 | grep -Eq "verify OK|Certificate request self-signature verify OK" ||
        fail "$k: CSR does not verify"
    # The certificate carries the vault key's public key.
    plain x509 -in "$k.crt" -pubkey -noout | cmp - <(openssl pkey -in "azkm://vault1/keys/$k" -pubout)
    echo "ok: $k"
done
openssl req -new -x509 -key azkm://vault1/keys/rsa1 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -sha384 -subj /CN=pss -days 1 -out pss.crt
plain x509 -in pss.crt -text -noout | grep -q "Signature Algorithm: rsassaPss" || fail "not a PSS certificate"
plain verify -CAfile pss.crt pss.crt | grep -q ": OK" || fail "PSS certificate does not verify"
echo "PASS"
