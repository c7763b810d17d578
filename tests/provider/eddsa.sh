#!/usr/bin/env bash
# EdDSA with Ed25519 and Ed448 vault keys: one-shot EVP_DigestSign (pkeyutl -rawin) by URI and by reference file,
# self-signed certificates, certificates issued to other keys, and CSRs, each verified by the default provider
# alone; the refusals of a digest and of private encodings; and default-provider Ed25519 keys untouched with azkm
# loaded first.
. "$(dirname "$0")/lib.sh"

head -c 3000 /dev/urandom >data
for k in ed1 ed448; do
    name=ED25519
    [ $k = ed448 ] && name=ED448
    uri=azkm://vault1/keys/$k
    openssl pkey -in $uri -pubout -out $k.pub
    plain pkey -pubin -in $k.pub -noout -text | grep -q "^$name Public-Key" || fail "$k: public key is not $name"

    openssl pkeyutl -sign -rawin -inkey $uri -in data -out $k.sig
    plain pkeyutl -verify -rawin -pubin -inkey $k.pub -in data -sigfile $k.sig >/dev/null ||
        fail "$k: the default provider rejects the signature"
    openssl pkeyutl -verify -rawin -inkey $uri -in data -sigfile $k.sig >/dev/null ||
        fail "$k: azkm rejects its own signature"

    openssl pkey -in $uri -out $k.ref
    grep -q "BEGIN AZKM KEY REFERENCE" $k.ref || fail "$k: PEM output is not a key reference file"
    openssl pkeyutl -sign -rawin -inkey $k.ref -in data -out ref.sig
    cmp ref.sig $k.sig || fail "$k: pure EdDSA is deterministic, the reference file must sign the same"

    openssl req -new -x509 -key $uri -subj "/CN=$k" -days 1 -out $k.crt
    plain verify -CAfile $k.crt $k.crt | grep -q ": OK" || fail "$k: self-signed certificate does not verify"
    plain x509 -in $k.crt -noout -text | grep -q "Signature Algorithm: $name" || fail "$k: not an $name certificate"
    plain x509 -in $k.crt -pubkey -noout | cmp - $k.pub || fail "$k: the certificate holds another public key"
    openssl req -new -key $k.ref -subj "/CN=$k" -out $k.csr
    plain req -in $k.csr -verify -noout 2>&1 | grep -q "verify OK" || fail "$k: CSR does not verify"
    # the vault key as a CA: a certificate for a default-provider key, checked by the default provider alone
    plain req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf-$k.key -subj "/CN=leaf-$k" \
        -out leaf-$k.csr 2>/dev/null
    openssl x509 -req -in leaf-$k.csr -CA $k.crt -CAkey $uri -CAcreateserial -days 1 -out leaf-$k.crt 2>/dev/null ||
        fail "$k: x509 -req with the vault key as CA failed"
    plain verify -CAfile $k.crt leaf-$k.crt | grep -q ": OK" || fail "$k: a certificate it issued does not verify"

    openssl pkey -in $uri -text -noout | grep -q "azkm private key $uri/[0-9a-f]\{32\} (held in its vault)" ||
        fail "$k: pkey -text does not name the vault key"
    should_fail "EdDSA signs the message itself: no digest \(got sha256\)" \
        openssl pkeyutl -sign -rawin -digest sha256 -inkey $uri -in data -out x.sig
    should_fail "private key stays in its vault" openssl pkey -in $uri -outform DER -out x.der
    echo "ok: $k"
done

# An Ed25519 key from a PEM file is the default provider's, signing as without azkm, whichever provider loads first.
plain genpkey -algorithm ED25519 -out own.key
plain pkeyutl -sign -rawin -inkey own.key -in data -out plain.sig
OPENSSL_CONF=/dev/null openssl pkeyutl -provider azkm -provider default -sign -rawin -inkey own.key -in data \
    -out both.sig
openssl pkeyutl -sign -rawin -inkey own.key -in data -out conf.sig
cmp plain.sig both.sig && cmp plain.sig conf.sig || fail "a default-provider Ed25519 key signs differently"
openssl list -signature-algorithms | grep -q "EdDSA.*@ azkm" || fail "openssl list does not show azkm's EdDSA"
echo "PASS"
