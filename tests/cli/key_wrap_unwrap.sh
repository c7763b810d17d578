#!/usr/bin/env bash
# Key wrapping: RSA-OAEP wrap/unwrap round trip (and openssl interop), AES key wrap with and without padding,
# and key_ops separating wrapKey/unwrapKey from encrypt/decrypt.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
head -c 32 /dev/urandom >dek

step "RSA-OAEP-256 wrap and unwrap"
ok azkm key create --vault-name kv1 --name rsakek --kty $RSA --ops wrapKey unwrapKey >/dev/null
ok azkm key wrap --vault-name kv1 --name rsakek --algorithm RSA-OAEP-256 --in-file dek --out-file dek.rsa >/dev/null
if hsm_tier; then
    # The token object of a wrapKey/unwrapKey key allows C_UnwrapKey alone (CKA_UNWRAP); SoftHSM 2.6's C_UnwrapKey
    # takes OAEP with SHA-1 only, and the raw RSA fallback is a C_Decrypt, which needs CKA_DECRYPT.
    should_fail 1 "NotSupported: key azkm://kv1/keys/rsakek/[0-9a-f]{32}: token $HSM_TOKEN: its C_UnwrapKey refuses RSA-OAEP with SHA2-256, and decoding OAEP in software needs the token's raw RSA decryption, which this key's object does not allow \(CKA_DECRYPT is false" \
        azkm key unwrap --vault-name kv1 --name rsakek --algorithm RSA-OAEP-256 --in-file dek.rsa --out-file dek.out
    [ ! -e dek.out ] || fail "a refused unwrap wrote dek.out"
    step "RSA-OAEP-256 unwrap with a key that may also decrypt: raw RSA on the token, OAEP decoded in software"
    ok azkm key create --vault-name kv1 --name rsakek2 --kty $RSA --ops wrapKey unwrapKey decrypt >/dev/null
    ok azkm key wrap --vault-name kv1 --name rsakek2 --algorithm RSA-OAEP-256 --in-file dek --out-file dek2.rsa \
        >/dev/null
    ok azkm key unwrap --vault-name kv1 --name rsakek2 --algorithm RSA-OAEP-256 --in-file dek2.rsa --out-file dek.out \
        >/dev/null
    cmp dek dek.out || fail "RSA-OAEP-256 unwrap mismatch (raw RSA)"
else
    ok azkm key unwrap --vault-name kv1 --name rsakek --algorithm RSA-OAEP-256 --in-file dek.rsa --out-file dek.out \
        >/dev/null
    cmp dek dek.out || fail "RSA unwrap mismatch"
fi
if hsm_tier; then
    step "RSA-OAEP (SHA-1) wrap and unwrap with the token's own mechanism"
    ok azkm key wrap --vault-name kv1 --name rsakek --algorithm RSA-OAEP --in-file dek --out-file dek.rsa >/dev/null
    ok azkm key unwrap --vault-name kv1 --name rsakek --algorithm RSA-OAEP --in-file dek.rsa --out-file dek.out \
        >/dev/null
    cmp dek dek.out || fail "RSA-OAEP unwrap mismatch"
fi

step "openssl wraps with the public key, azkm unwraps"
ok azkm key download --vault-name kv1 --name rsakek --file kek.pem
openssl pkeyutl -encrypt -pubin -inkey kek.pem -pkeyopt rsa_padding_mode:oaep -in dek -out dek.ossl
j=$(ok azkm key unwrap --vault-name kv1 --name rsakek --algorithm RSA-OAEP --in-file dek.ossl --output json)
expect_eq "$(jqr .result "$j")" "$(b64 dek)" "openssl-wrapped key"

step "wrapKey-only keys refuse encrypt and decrypt"
should_fail 4 "Forbidden: .*rsakek.*encrypt" azkm key encrypt --vault-name kv1 --name rsakek --algorithm RSA-OAEP \
    --in-file dek
should_fail 4 "Forbidden: .*rsakek.*decrypt" azkm key decrypt --vault-name kv1 --name rsakek --algorithm RSA-OAEP \
    --in-file dek.rsa

for size in 128 192 256; do
    step "A${size}KW on an oct-$size key"
    ok azkm key create --vault-name kv1 --name aes$size --kty $OCT --size $size >/dev/null
    ok azkm key wrap --vault-name kv1 --name aes$size --algorithm A${size}KW --in-file dek --out-file w$size \
        >/dev/null
    expect_eq "$(stat -c %s w$size)" 40 "RFC 3394 output length"
    ok azkm key unwrap --vault-name kv1 --name aes$size --algorithm A${size}KW --in-file w$size --out-file u$size \
        >/dev/null
    cmp dek u$size || fail "A${size}KW round trip"
done

step "CKM_AES_KEY_WRAP and CKM_AES_KEY_WRAP_PAD"
ok azkm key wrap --vault-name kv1 --name aes256 --algorithm CKM_AES_KEY_WRAP --in-file dek --out-file ckm >/dev/null
cmp ckm w256 || fail "CKM_AES_KEY_WRAP differs from A256KW"
head -c 21 /dev/urandom >odd
if hsm_tier; then
    # the token does not pad as RFC 5649 says for such lengths (see aes_kw_rfc3394_vectors.sh): refused
    should_fail 1 "NotSupported: .*21 bytes \(not a multiple of 8\)" \
        azkm key wrap --vault-name kv1 --name aes256 --algorithm CKM_AES_KEY_WRAP_PAD --in-file odd --out-file odd.w
    head -c 24 /dev/urandom >odd
fi
ok azkm key wrap --vault-name kv1 --name aes256 --algorithm CKM_AES_KEY_WRAP_PAD --in-file odd --out-file odd.w \
    >/dev/null
expect_eq "$(stat -c %s odd.w)" $(( $(stat -c %s odd) <= 24 ? 32 : 40 )) "RFC 5649 output length"
ok azkm key unwrap --vault-name kv1 --name aes256 --algorithm CKM_AES_KEY_WRAP_PAD --in-file odd.w --out-file odd.u \
    >/dev/null
cmp odd odd.u || fail "KWP round trip"

step "tampered wrapped key is refused"
cp w256 bad
printf '\x00' | dd of=bad bs=1 seek=3 conv=notrunc status=none
cmp -s w256 bad && printf '\x01' | dd of=bad bs=1 seek=3 conv=notrunc status=none
rc=0
azkm key unwrap --vault-name kv1 --name aes256 --algorithm A256KW --in-file bad 2>err >/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "a tampered wrapped key unwrapped"
grep -Eq '^azkm: error: (IntegrityCheckFailed|CryptoError)' err || fail "unexpected error: $(cat err)"

step "A128KW needs a 128-bit key"
should_fail 2 "BadParameter|NotSupported" azkm key wrap --vault-name kv1 --name aes256 --algorithm A128KW \
    --in-file dek
pass
