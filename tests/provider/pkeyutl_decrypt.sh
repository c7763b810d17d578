#!/usr/bin/env bash
# RSA decryption with an azkm key of what the default provider alone encrypted: PKCS#1 v1.5, OAEP with SHA-1,
# SHA-2 and SHA-3, with and without a label, with an MGF1 digest other than the OAEP digest; a CMS message with
# OAEP-SHA-256 key transport through `openssl cms -decrypt`; and key_ops refusal. The same cases on both tiers: on
# the HSM tier SoftHSM 2.6's own OAEP takes SHA-1 without a label only, and azkm decodes the others in software
# after the token's raw RSA (docs/security.md, "Raw RSA on the HSM tier").
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
for md in sha256 sha384 sha512 sha3-256; do
    roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:$md
    roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:$md -pkeyopt rsa_oaep_label:0011223344
done
roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_label:0011223344
roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha1
roundtrip -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha512 \
    -pkeyopt rsa_oaep_label:cafe
# The wrong digest is an error, not garbage.
plain pkeyutl -encrypt -pubin -inkey rsa1.pub -in pt -out ct -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha384
should_fail "decrypt|error" openssl pkeyutl -decrypt -inkey azkm://vault1/keys/rsa1 -in ct \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256

# CMS with RSA-OAEP-SHA-256 key transport (what S/MIME and document encryption use): the recipient's key in azkm.
openssl req -new -x509 -key azkm://vault1/keys/rsa1 -subj /CN=cms-recipient -days 1 -out cms.crt
echo "a message for the vault key" >msg
plain cms -encrypt -binary -in msg -out msg.cms -outform PEM -aes256 -recip cms.crt -keyopt rsa_padding_mode:oaep \
    -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256
openssl cms -decrypt -binary -in msg.cms -inform PEM -recip cms.crt -inkey azkm://vault1/keys/rsa1 -out msg.out
cmp msg msg.out || fail "openssl cms -decrypt: wrong message"
# Without -recip, CMS tries every recipient and hides why one failed (a random key, then "bad decrypt"): it must
# find the right one.
openssl cms -decrypt -binary -in msg.cms -inform PEM -inkey azkm://vault1/keys/rsa1 -out msg.out2
cmp msg msg.out2 || fail "openssl cms -decrypt without -recip: wrong message"
echo "ok: openssl cms -decrypt, RSA-OAEP-SHA-256 key transport"
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
