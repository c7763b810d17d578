#!/usr/bin/env bash
# openssl pkeyutl -sign / -verify with azkm keys: RSA PKCS#1, RSA-PSS (salt digest/max/number, MGF1 digest equal
# to or other than the message digest), ECDSA, each with SHA-1, SHA-2 and SHA-3 digests; every signature verified
# again by the default provider alone with the exported public key. The same cases on both tiers: on the HSM tier
# SoftHSM 2.6's own PSS refuses SHA-3 and a different MGF1 digest, and azkm pads those in software around the
# token's raw RSA (docs/security.md, "Raw RSA on the HSM tier").
. "$(dirname "$0")/lib.sh"

head -c 1000 /dev/urandom >data
for k in rsa1 ec1 ec384; do openssl pkey -in "azkm://vault1/keys/$k" -pubout -out "$k.pub"; done

check() { # key digest [pkeyopts...]
    local k=$1 md=$2
    shift 2
    local opts=(-pkeyopt "digest:$md")
    for o in "$@"; do opts+=(-pkeyopt "$o"); done
    plain dgst "-$md" -binary data >dgst.bin
    openssl pkeyutl -sign -inkey "azkm://vault1/keys/$k" -in dgst.bin "${opts[@]}" -out sig.bin
    plain pkeyutl -verify -pubin -inkey "$k.pub" -in dgst.bin -sigfile sig.bin "${opts[@]}" >/dev/null ||
        fail "$k $md $*: default provider rejects the signature"
    openssl pkeyutl -verify -inkey "azkm://vault1/keys/$k" -in dgst.bin -sigfile sig.bin "${opts[@]}" >/dev/null ||
        fail "$k $md $*: azkm verify rejects its own signature"
    echo "ok: $k $md $*"
}

check rsa1 sha256
check rsa1 sha384
check rsa1 sha512
check rsa1 sha1
check rsa1 sha256 rsa_padding_mode:pss rsa_pss_saltlen:digest
check rsa1 sha256 rsa_padding_mode:pss rsa_pss_saltlen:max
check rsa1 sha384 rsa_padding_mode:pss rsa_pss_saltlen:20
check rsa1 sha512 rsa_padding_mode:pss rsa_pss_saltlen:auto rsa_mgf1_md:sha512
check rsa1 sha384 rsa_padding_mode:pss rsa_pss_saltlen:20 rsa_mgf1_md:sha1
check rsa1 sha512 rsa_padding_mode:pss rsa_pss_saltlen:auto rsa_mgf1_md:sha256
check rsa1 sha256 rsa_padding_mode:pss rsa_pss_saltlen:digest rsa_mgf1_md:sha512
check ec1 sha256
check ec1 sha384
check ec384 sha384
check ec384 sha256
for md in sha3-224 sha3-256 sha3-384 sha3-512; do
    check rsa1 "$md"
    check rsa1 "$md" rsa_padding_mode:pss rsa_pss_saltlen:digest
    check ec1 "$md"
    check ec384 "$md"
done
check rsa1 sha3-256 rsa_padding_mode:pss rsa_pss_saltlen:max rsa_mgf1_md:sha256
check rsa1 sha256 rsa_padding_mode:pss rsa_pss_saltlen:digest rsa_mgf1_md:sha3-512

# Without a digest parameter the input is signed as given (RSA: PKCS#1 type 1 over the bytes, e.g. a DigestInfo).
plain dgst -sha256 -binary data >dgst.bin
for k in rsa1 ec1; do
    openssl pkeyutl -sign -inkey "azkm://vault1/keys/$k" -in dgst.bin -out sig.bin
    plain pkeyutl -verify -pubin -inkey "$k.pub" -in dgst.bin -sigfile sig.bin >/dev/null ||
        fail "$k: raw signature not verified"
    echo "ok: $k raw"
done

# A tampered digest must not verify.
plain dgst -sha256 -binary data >dgst.bin
openssl pkeyutl -sign -inkey azkm://vault1/keys/ec1 -in dgst.bin -pkeyopt digest:sha256 -out sig.bin
# flip a bit of the first byte (writing a fixed byte would be a no-op when it is already that byte)
printf "$(printf '\\%03o' $(( $(od -An -tu1 -N1 dgst.bin) ^ 1 )))" | dd of=dgst.bin bs=1 seek=0 conv=notrunc 2>/dev/null
should_fail "Verification Failure|failed" plain pkeyutl -verify -pubin -inkey ec1.pub -in dgst.bin -sigfile sig.bin
echo "PASS"
