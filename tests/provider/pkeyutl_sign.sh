#!/usr/bin/env bash
# openssl pkeyutl -sign / -verify with azkm keys: RSA PKCS#1, RSA-PSS (salt digest/max/number, MGF1), ECDSA;
# every signature verified again by the default provider alone with the exported public key.
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
if hsm_tier; then
    # SoftHSM 2.6 takes CKM_RSA_PKCS_PSS only with MGF1 over the message digest: another MGF1 digest is refused
    # (azkm does not fall back to raw RSA with the padding in software).
    for o in "sha384 rsa_mgf1_md:sha1" "sha512 rsa_mgf1_md:sha256"; do
        set -- $o
        plain dgst "-$1" -binary data >dgst.bin
        should_fail "token $HSM_TOKEN: (signing failed: CKR_ARGUMENTS_BAD|.*does not support)" openssl pkeyutl \
            -sign -inkey azkm://vault1/keys/rsa1 -in dgst.bin -pkeyopt "digest:$1" -pkeyopt rsa_padding_mode:pss \
            -pkeyopt "$2" -out sig.bin
    done
    check rsa1 sha384 rsa_padding_mode:pss rsa_pss_saltlen:20
    check rsa1 sha512 rsa_padding_mode:pss rsa_pss_saltlen:auto rsa_mgf1_md:sha512
else
    check rsa1 sha384 rsa_padding_mode:pss rsa_pss_saltlen:20 rsa_mgf1_md:sha1
    check rsa1 sha512 rsa_padding_mode:pss rsa_pss_saltlen:auto rsa_mgf1_md:sha256
fi
check ec1 sha256
check ec1 sha384
check ec384 sha384
check ec384 sha256

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
