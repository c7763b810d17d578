#!/usr/bin/env bash
# BYOK through a remote vault whose azkmd vault lives on a SoftHSM token: a key exchange key created through azkmd
# (RSA-HSM, key_ops import), a transfer blob made by `azkm byok wrap` with the KEK's public key read through the
# remote vault, `azkm key import --byok-file` (PUT keys/{name} with key.key_hsm); the imported key is the file's key
# and signs through the provider. A tampered blob is azkmd's 400. An oct-HSM blob is imported
# too, and an oct-HSM key created through azkmd: both wrap and unwrap through azkmd. An EC-HSM PEM import lands on
# the token ("Hsm": true). ctest runs it with AZKMD_TEST_TIER=hsm.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"

step "a key exchange key made through azkmd; a blob for it made with its public key read through the remote vault"
client key create --vault-name web --name kek --kty RSA-HSM --size 2048 --ops import --output json >"$T/kek.json" ||
    fail "create the KEK"
[ "$(jq -r .key.kty "$T/kek.json")" = RSA-HSM ] || fail "KEK: $(cat "$T/kek.json")"
kid=$(jq -r .key.kid "$T/kek.json")
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/target.pem" 2>/dev/null
client byok wrap --file "$T/target.pem" --kek-id "$kid" --out-file "$T/blob.byok" || fail "byok wrap"

step "import --byok-file through azkmd: the file's key, unwrapped on azkmd's token, signs through the provider"
client key import --vault-name web --name byok-rsa --byok-file "$T/blob.byok" --kty RSA-HSM --ops sign,verify \
    --output json >"$T/c.json" || fail "BYOK import"
"$AZKM" key show --vault-name web --name byok-rsa --output json >"$T/s.json"
diff <(jq -S . "$T/c.json") <(jq -S . "$T/s.json") || fail "the import's result is not the server's key"
[ "$(jq -r '.key.kty + " " + (.key.key_ops | join(","))' "$T/c.json")" = "RSA-HSM sign,verify" ] ||
    fail "imported: $(cat "$T/c.json")"
"$AZKM" key download --vault-name web --name byok-rsa --file "$T/byok.pub" >/dev/null
openssl pkey -in "$T/target.pem" -pubout | cmp -s - "$T/byok.pub" || fail "the imported key is not the file's"
with_provider openssl dgst -sha256 -sign azkm://web/keys/byok-rsa -out "$T/sig" "$T/target.pem" || fail "sign"
openssl dgst -sha256 -verify "$T/byok.pub" -signature "$T/sig" "$T/target.pem" >/dev/null || fail "verify"

step "a tampered blob is azkmd's 400 and leaves no key"
jq -c '.ciphertext = (.ciphertext | .[0:40] + (if .[40:41] == "A" then "B" else "A" end) + .[41:])' \
    "$T/blob.byok" >"$T/bad.byok"
should_fail "PUT /keys/byok-bad answered 400 BadParameter" \
    client key import --vault-name web --name byok-bad --byok-file "$T/bad.byok" --kty RSA-HSM
rc=0
client key import --vault-name web --name byok-bad --byok-file "$T/bad.byok" --kty RSA-HSM >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a tampered blob: exit $rc, not 2 (BadParameter, as on a local vault)"
should_fail "NotFound" "$AZKM" key show --vault-name web --name byok-bad

step "an EC-HSM PEM import through azkmd lands on its token"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
client key import --vault-name web --name pem-ec --file "$T/ec.pem" --kty EC-HSM --output json >"$T/c.json" ||
    fail "EC-HSM import"
[ "$("$AZKM" key show --vault-name web --name pem-ec --output json | jq -r .key.kty)" = EC-HSM ] ||
    fail "not an HSM key on the server"

step "oct-HSM through azkmd: a BYOK blob of raw AES bytes and a created key, each wrapping through azkmd"
head -c 32 /dev/urandom >"$T/aes.raw"
client byok wrap --file "$T/aes.raw" --kty oct --kek-id "$kid" --out-file "$T/aes.byok" || fail "byok wrap oct"
client key import --vault-name web --name byok-aes --byok-file "$T/aes.byok" --kty oct-HSM --output json \
    >"$T/c.json" || fail "BYOK import oct-HSM: $(cat "$T/c.json")"
"$AZKM" key show --vault-name web --name byok-aes --output json >"$T/s.json"
diff <(jq -S . "$T/c.json") <(jq -S . "$T/s.json") || fail "the oct-HSM import's result is not the server's key"
client key create --vault-name web --name hsm-aes --kty oct-HSM --size 128 --output json >"$T/c.json" ||
    fail "create oct-HSM: $(cat "$T/c.json")"
"$AZKM" key show --vault-name web --name hsm-aes --output json >"$T/s.json"
diff <(jq -S . "$T/c.json") <(jq -S . "$T/s.json") || fail "the oct-HSM key made is not the server's key"
client key show --vault-name web --name hsm-aes >"$T/show" || fail "show hsm-aes"
"$AZKM" key show --vault-name web --name hsm-aes | diff - "$T/show" || fail "key show (table) differs"
grep -q "oct-HSM.*128" "$T/show" || fail "not a 128-bit oct-HSM key: $(cat "$T/show")"
cek=$(head -c 32 /dev/urandom | base64 -w0)
for key in byok-aes hsm-aes; do
    w=$(client key wrap --vault-name web --name $key --algorithm CKM_AES_KEY_WRAP --value "$cek" --output json |
        jq -r .result) || fail "wrap $key"
    [ "$("$AZKM" key unwrap --vault-name web --name $key --algorithm CKM_AES_KEY_WRAP --value "$w" --output json |
        jq -r .result)" = "$cek" ] || fail "$key: azkmd's keystore does not unwrap what the remote vault wrapped"
done
# the imported key is the blob's: its AES key wrap is RFC 3394's of those bytes
expect=$(openssl enc -id-aes256-wrap -K "$(xxd -p -c 64 "$T/aes.raw")" -iv A6A6A6A6A6A6A6A6 -nopad \
    -in <(echo -n "$cek" | base64 -d) 2>/dev/null | base64 -w0)
[ -n "$expect" ] || fail "openssl enc -id-aes256-wrap failed"
[ "$(client key wrap --vault-name web --name byok-aes --algorithm A256KW --value "$cek" \
    --output json | jq -r .result)" = "$expect" ] || fail "the oct-HSM key is not the blob's"
echo "PASS"
