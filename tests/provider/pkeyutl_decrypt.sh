#!/usr/bin/env bash
# RSA decryption with an azkm key of what the default provider alone encrypted: PKCS#1 v1.5, OAEP SHA-1,
# OAEP SHA-256 with a label; and key_ops refusal.
. "$(dirname "$0")/lib.sh"

openssl pkey -in azkm://vault1/keys/rsa1 -pubout -out rsa1.pub
head -c 32 /dev/urandom >pt

roundtrip() {
    plain pkeyutl -encrypt -pubin -inkey rsa1.pub -in pt -out ct "$@"
    openssl pkeyutl -decrypt -inkey azkm://vault1/keys/rsa1 -in ct -out out "$@"
    cmp pt out || fail "decrypt $*: wrong plaintext"
    echo "ok: $*"
}
roundtrip
roundtrip -pkeyopt rsa_padding_mode:pkcs1
roundtrip -pkeyopt rsa_padding_mode:oaep
if hsm_tier; then
    # SoftHSM 2.6 has RSA-OAEP with SHA-1 only: azkm says so instead of padding in software.
    for opts in "-pkeyopt rsa_oaep_md:sha256" \
        "-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -pkeyopt rsa_oaep_label:0011223344"; do
        plain pkeyutl -encrypt -pubin -inkey rsa1.pub -in pt -out ct -pkeyopt rsa_padding_mode:oaep $opts
        should_fail "token $HSM_TOKEN does not support RSA-OAEP with SHA256" openssl pkeyutl -decrypt \
            -inkey azkm://vault1/keys/rsa1 -in ct -out out -pkeyopt rsa_padding_mode:oaep $opts
    done
    # nor an OAEP label
    plain pkeyutl -encrypt -pubin -inkey rsa1.pub -in pt -out ct -pkeyopt rsa_padding_mode:oaep \
        -pkeyopt rsa_oaep_label:0011223344
    should_fail "token $HSM_TOKEN: decrypting failed|does not support" openssl pkeyutl -decrypt \
        -inkey azkm://vault1/keys/rsa1 -in ct -out out -pkeyopt rsa_padding_mode:oaep \
        -pkeyopt rsa_oaep_label:0011223344
else
    roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
    roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
        -pkeyopt rsa_oaep_label:0011223344
fi
# A wrong label is an error, not garbage.
plain pkeyutl -encrypt -pubin -inkey rsa1.pub -in pt -out ct -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_label:aa
should_fail "decrypt|error" openssl pkeyutl -decrypt -inkey azkm://vault1/keys/rsa1 -in ct \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_label:bb
# azkm encrypts with the public key too.
openssl pkeyutl -encrypt -inkey azkm://vault1/keys/rsa1 -in pt -out ct -pkeyopt rsa_padding_mode:oaep
openssl pkeyutl -decrypt -inkey azkm://vault1/keys/rsa1 -in ct -pkeyopt rsa_padding_mode:oaep | cmp - pt
# decrypt not in key_ops
openssl pkey -in azkm://vault1/keys/rsa-nodecrypt -pubout -out nd.pub
plain pkeyutl -encrypt -pubin -inkey nd.pub -in pt -out ct
should_fail "does not permit decrypt" openssl pkeyutl -decrypt -inkey azkm://vault1/keys/rsa-nodecrypt -in ct
echo "PASS"
