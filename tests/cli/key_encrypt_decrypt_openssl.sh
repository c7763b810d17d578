#!/usr/bin/env bash
# RSA encryption interop with the openssl CLI (openssl encrypts with the downloaded public key, azkm decrypts)
# for RSA-OAEP, RSA-OAEP-256 and RSA1_5, azkm round trips, and AES-GCM with iv, aad and tag.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
ok azkm key create --vault-name kv1 --name rsa --kty $RSA --size 3072 >/dev/null
ok azkm key download --vault-name kv1 --name rsa --file rsa.pem
head -c 100 /dev/urandom >plain

step "RSA-OAEP (SHA-1) from openssl"
openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep -in plain -out c1
ok azkm key decrypt --vault-name kv1 --name rsa --algorithm RSA-OAEP --in-file c1 --out-file p1 >/dev/null
cmp plain p1 || fail "RSA-OAEP decrypt mismatch"
expect_eq "$(stat -c %a p1)" 600 "plaintext file mode"

step "RSA-OAEP-256 from openssl"
openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
    -pkeyopt rsa_mgf1_md:sha256 -in plain -out c2
# HSM tier: SoftHSM's own OAEP takes SHA-1 only; azkm decrypts with its raw RSA and decodes OAEP in software.
ok azkm key decrypt --vault-name kv1 --name rsa --algorithm RSA-OAEP-256 --in-file c2 --out-file p2 >/dev/null
cmp plain p2 || fail "RSA-OAEP-256 decrypt mismatch"

step "RSA1_5 from openssl"
openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:pkcs1 -in plain -out c3
ok azkm key decrypt --vault-name kv1 --name rsa --algorithm RSA1_5 --in-file c3 --out-file p3 >/dev/null
cmp plain p3 || fail "RSA1_5 decrypt mismatch"

step "azkm encrypt -> azkm decrypt with base64 values"
j=$(ok azkm key encrypt --vault-name kv1 --name rsa --algorithm RSA-OAEP-256 --value "$(b64 plain)" --output json)
ct=$(jqr .result "$j")
j=$(ok azkm key decrypt --vault-name kv1 --name rsa --algorithm RSA-OAEP-256 --value "$ct" --output json)
expect_eq "$(jqr .result "$j")" "$(b64 plain)" "round trip"
should_fail 2 "BadParameter: --value: is not valid base64" azkm key decrypt --vault-name kv1 --name rsa \
    --algorithm RSA-OAEP --value 'not*base64'

step "ciphertext under another padding fails to decrypt"
rc=0
azkm key decrypt --vault-name kv1 --name rsa --algorithm RSA-OAEP-256 --in-file c1 --out-file px 2>err || rc=$?
[ "$rc" -ne 0 ] || fail "OAEP-256 decrypted an OAEP-SHA1 ciphertext"
grep -q '^azkm: error: ' err || fail "no error line"

step "AES-GCM with aad; wrong tag or aad is refused"
ok azkm key create --vault-name kv1 --name aes --kty $OCT --size 256 >/dev/null
aad=$(printf 'header' | b64)
j=$(ok azkm key encrypt --vault-name kv1 --name aes --algorithm A256GCM --in-file plain --out-file g.ct --aad "$aad" \
    --output json)
iv=$(jqr .iv "$j")
tag=$(jqr .tag "$j")
expect_eq "$(printf '%s' "$iv" | base64 -d | wc -c)" 12 "iv length"
expect_eq "$(printf '%s' "$tag" | base64 -d | wc -c)" 16 "tag length"
expect_eq "$(stat -c %s g.ct)" 100 "GCM ciphertext length"
ok azkm key decrypt --vault-name kv1 --name aes --algorithm A256GCM --in-file g.ct --out-file g.pt --iv "$iv" \
    --tag "$tag" --aad "$aad" >/dev/null
cmp plain g.pt || fail "GCM round trip"
badtag=$(printf '%s' "$tag" | base64 -d | tr '\000-\377' '\001-\377\000' | b64)
should_fail 6 "IntegrityCheckFailed" azkm key decrypt --vault-name kv1 --name aes --algorithm A256GCM \
    --in-file g.ct --iv "$iv" --tag "$badtag" --aad "$aad"
should_fail 6 "IntegrityCheckFailed" azkm key decrypt --vault-name kv1 --name aes --algorithm A256GCM \
    --in-file g.ct --iv "$iv" --tag "$tag"
should_fail 2 "--tag: required" azkm key decrypt --vault-name kv1 --name aes --algorithm A256GCM \
    --in-file g.ct --iv "$iv"

step "a fixed IV is used as given"
fixed=$(head -c 12 /dev/urandom | b64)
j=$(ok azkm key encrypt --vault-name kv1 --name aes --algorithm A256GCM --value "$(b64 plain)" --iv "$fixed" \
    --output json)
expect_eq "$(jqr .iv "$j")" "$fixed" "given iv"

step "algorithm and key type must match"
should_fail 2 "BadParameter" azkm key encrypt --vault-name kv1 --name aes --algorithm RSA-OAEP --value "$(b64 plain)"
should_fail 2 "only for AES-GCM" azkm key encrypt --vault-name kv1 --name rsa --algorithm RSA-OAEP \
    --value "$(b64 plain)" --iv "$fixed"
pass
