#!/usr/bin/env bash
# ECDH with EC vault keys (key_ops deriveBits): pkeyutl -derive by URI and by reference file agrees with the
# default provider's derive from the peer's side; CMS decryption for an EC recipient whose key is in the vault;
# refusals of a key without deriveBits and of a peer on another curve; derive between default-provider keys
# untouched.
. "$(dirname "$0")/lib.sh"

printf 'for the vault key only\n' >msg.txt
make_ca
for spec in "ecdh1 P-256 32" "ecdh384 P-384 48"; do
    set -- $spec
    k=$1 uri=azkm://vault1/keys/$1
    openssl pkey -in $uri -pubout -out $k.pub
    plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$2 -out peer-$k.key
    plain pkey -in peer-$k.key -pubout -out peer-$k.pub

    openssl pkeyutl -derive -inkey $uri -peerkey peer-$k.pub -out z.vault
    plain pkeyutl -derive -inkey peer-$k.key -peerkey $k.pub -out z.plain
    cmp z.vault z.plain || fail "$k: the vault's shared secret differs from the default provider's"
    [ "$(stat -c %s z.vault)" = $3 ] || fail "$k: the shared secret is not $3 bytes"
    openssl pkey -in $uri -out $k.ref
    openssl pkeyutl -derive -inkey $k.ref -peerkey peer-$k.pub -out z.ref
    cmp z.ref z.plain || fail "$k: derive through the reference file differs"

    # A certificate for the vault key, issued on a CSR of another key (ecdh1 cannot sign its own).
    plain req -new -key peer-$k.key -subj "/CN=$k" -out $k.csr
    plain x509 -req -in $k.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -force_pubkey $k.pub \
        -out $k.crt 2>/dev/null
    for cipher in aes128 aes256; do
        plain cms -encrypt -in msg.txt -binary -$cipher -out msg.cms $k.crt
        openssl cms -decrypt -binary -in msg.cms -recip $k.crt -inkey $uri -out out.txt
        cmp out.txt msg.txt || fail "$k: CMS ($cipher) decrypted to something else"
        openssl cms -decrypt -binary -in msg.cms -inkey $k.ref -out out.txt
        cmp out.txt msg.txt || fail "$k: CMS ($cipher) without -recip, through the reference file"
    done
    echo "ok: $k"
done

# ec1 has the default key_ops of an EC key: sign and verify, no deriveBits.
openssl pkey -in azkm://vault1/keys/ec1 -pubout -out ec1.pub
should_fail "does not permit deriveBits \(key_ops: sign,verify\)" \
    openssl pkeyutl -derive -inkey azkm://vault1/keys/ec1 -peerkey peer-ecdh1.pub -out z.bin
plain req -new -key peer-ecdh1.key -subj /CN=ec1 -out ec1.csr
plain x509 -req -in ec1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -force_pubkey ec1.pub -out ec1.crt \
    2>/dev/null
plain cms -encrypt -in msg.txt -binary -aes128 -out ec1.cms ec1.crt
should_fail "does not permit deriveBits" openssl cms -decrypt -in ec1.cms -recip ec1.crt \
    -inkey azkm://vault1/keys/ec1
should_fail "peer's public key \(EC P-384\) is not on the key's curve, P-256" \
    openssl pkeyutl -derive -inkey azkm://vault1/keys/ecdh1 -peerkey peer-ecdh384.pub -out z.bin
should_fail "operation not supported for this keytype" \
    openssl pkeyutl -derive -inkey azkm://vault1/keys/ed1 -peerkey peer-ecdh1.pub -out z.bin

# ECDH between keys from PEM files stays the default provider's, whichever provider loads first.
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out a.key
plain pkeyutl -derive -inkey a.key -peerkey peer-ecdh1.pub -out z.plain
OPENSSL_CONF=/dev/null openssl pkeyutl -provider azkm -provider default -derive -inkey a.key \
    -peerkey peer-ecdh1.pub -out z.both
openssl pkeyutl -derive -inkey a.key -peerkey peer-ecdh1.pub -out z.conf
cmp z.plain z.both && cmp z.plain z.conf || fail "derive between default-provider keys changed with azkm loaded"
echo "PASS"
