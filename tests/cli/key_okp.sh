#!/usr/bin/env bash
# OKP keys (Ed25519, Ed448) through the CLI: create, import PKCS#8, show, JWK as RFC 8037, EdDSA signatures that
# openssl verifies (and openssl's that azkm verifies), rotation; the refusals that name the curve or operation;
# deriveBits on EC keys only, and only when asked for.
. "$(dirname "$0")/lib.sh"

OKP=OKP
hsm_tier && OKP=OKP-HSM
ok vault_create --name kv1 >/dev/null
head -c 5000 /dev/urandom >data

for curve in Ed25519 Ed448; do
    step "$curve: create, show, JWK"
    ok azkm key create --vault-name kv1 --name $curve --kty $OKP --curve $curve >/dev/null
    j=$(ok azkm key show --vault-name kv1 --name $curve --output json)
    expect_eq "$(jqr .key.kty "$j")" "$OKP" "kty"
    expect_eq "$(jqr .key.crv "$j")" "$curve" "crv"
    expect_eq "$(jqr '.key.key_ops | join(" ")' "$j")" "sign verify" "default key_ops"
    expect_eq "$(jqr '.key | has("y")' "$j")" false "an OKP JWK has no y"
    ok azkm key download --vault-name kv1 --name $curve --file $curve.pem
    ok azkm key download --vault-name kv1 --name $curve --encoding JWK --file $curve.jwk
    expect_eq "$(jq -r .kty $curve.jwk)" OKP "downloaded JWK kty"
    # RFC 8037: x is the raw public key, base64url without padding: the end of the SubjectPublicKeyInfo.
    len=32
    [ $curve = Ed448 ] && len=57
    want=$(openssl pkey -pubin -in $curve.pem -outform DER | tail -c $len | base64 -w0 | tr '+/' '-_' | tr -d '=')
    expect_eq "$(jq -r .x $curve.jwk)" "$want" "JWK x"
    expect_match "$(ok azkm key show --vault-name kv1 --name $curve)" "Type +$OKP $curve" "table type"

    step "$curve: EdDSA signatures verify with openssl, and openssl's with azkm"
    ok azkm key sign --vault-name kv1 --name $curve --algorithm EdDSA --data-file data --signature-file s.bin \
        >/dev/null
    expect_eq "$(stat -c %s s.bin)" $((len == 32 ? 64 : 114)) "signature length"
    openssl pkeyutl -verify -pubin -inkey $curve.pem -rawin -in data -sigfile s.bin >/dev/null ||
        fail "openssl rejects the $curve signature"
    ok azkm key verify --vault-name kv1 --name $curve --algorithm EdDSA --data-file data --signature-file s.bin \
        >/dev/null
    openssl genpkey -algorithm ${curve^^} -out own-$curve.key
    ok azkm key import --vault-name kv1 --name own-$curve --file own-$curve.key --kty $OKP >/dev/null
    openssl pkeyutl -sign -inkey own-$curve.key -rawin -in data -out own.sig
    ok azkm key verify --vault-name kv1 --name own-$curve --algorithm EdDSA --data-file data --signature-file own.sig \
        >/dev/null
    ok azkm key sign --vault-name kv1 --name own-$curve --algorithm EdDSA --data-file data --signature-file s.bin \
        >/dev/null
    openssl pkeyutl -verify -inkey own-$curve.key -rawin -in data -sigfile s.bin >/dev/null ||
        fail "the imported $curve key signs differently from its source"
    cmp s.bin own.sig || fail "pure EdDSA is deterministic: the imported key's signature must equal openssl's"

    step "$curve: rotation keeps the curve"
    v1=$(jqr .key.kid "$j")
    j=$(ok azkm key rotate --vault-name kv1 --name $curve --output json)
    expect_eq "$(jqr .key.crv "$j")" "$curve" "rotated crv"
    [ "$(jqr .key.kid "$j")" != "$v1" ] || fail "rotation kept the version"
done

if ! hsm_tier; then
    step "backup and restore of an OKP key (HSM keys have no backup)"
    ok azkm key download --vault-name kv1 --name Ed448 --file current.pem
    ok azkm key backup --vault-name kv1 --name Ed448 --file ed448.bak >/dev/null
    ok azkm key delete --vault-name kv1 --name Ed448 >/dev/null
    ok azkm key purge --vault-name kv1 --name Ed448 >/dev/null
    ok azkm key restore --vault-name kv1 --file ed448.bak >/dev/null
    ok azkm key sign --vault-name kv1 --name Ed448 --algorithm EdDSA --data-file data --signature-file s.bin >/dev/null
    openssl pkeyutl -verify -pubin -inkey current.pem -rawin -in data -sigfile s.bin >/dev/null ||
        fail "the restored Ed448 key signs with another key"
    expect_eq "$(azkm key list-versions --vault-name kv1 --name Ed448 --output json | jq length)" 2 "restored versions"
fi

step "a tampered message does not verify"
ok azkm key download --vault-name kv1 --name Ed25519 --file ed.pem
ok azkm key sign --vault-name kv1 --name Ed25519 --algorithm EdDSA --data-file data --signature-file s.bin >/dev/null
flip_byte data 100
should_fail 1 "InvalidSignature" azkm key verify --vault-name kv1 --name Ed25519 --algorithm EdDSA --data-file data \
    --signature-file s.bin

step "refusals name the curve, the algorithm or the operation"
should_fail 2 "BadParameter: --curve: must be Ed25519 or Ed448 for OKP keys \(got 'P-256'\)" \
    azkm key create --vault-name kv1 --name x --kty $OKP --curve P-256
should_fail 2 "BadParameter: --curve: must be P-256, P-384 or P-521 for EC keys \(got 'Ed25519'\)" \
    azkm key create --vault-name kv1 --name x --kty EC --curve Ed25519
should_fail 2 "BadParameter: --size: not used with OKP keys" \
    azkm key create --vault-name kv1 --name x --kty $OKP --size 256
should_fail 2 "operation encrypt does not apply to an $OKP key" \
    azkm key create --vault-name kv1 --name x --kty $OKP --ops sign encrypt
should_fail 2 "operation deriveBits does not apply to an $OKP key" \
    azkm key create --vault-name kv1 --name x --kty $OKP --ops deriveBits
should_fail 2 "BadParameter: --digest: EdDSA signs the message itself" \
    azkm key sign --vault-name kv1 --name Ed25519 --algorithm EdDSA --digest "$(head -c 32 data | b64)"
should_fail 2 "is an $OKP key: the signature algorithm does not apply" \
    azkm key sign --vault-name kv1 --name Ed25519 --algorithm ES256 --data-file data
should_fail 4 "does not permit encrypt \(key_ops: sign,verify\)" \
    azkm key encrypt --vault-name kv1 --name Ed25519 --algorithm RSA-OAEP --value "$(printf hi | b64)"
should_fail 2 "BadParameter: --kty: .* holds an OKP key, not EC" \
    azkm key import --vault-name kv1 --name y --file own-Ed25519.key --kty EC

step "deriveBits: for EC keys, only when asked for"
j=$(ok azkm key create --vault-name kv1 --name ec --kty $EC --output json)
expect_eq "$(jqr '.key.key_ops | join(" ")' "$j")" "sign verify" "an EC key's default key_ops"
j=$(ok azkm key create --vault-name kv1 --name dh --kty $EC --curve P-384 --ops deriveBits --output json)
expect_eq "$(jqr '.key.key_ops | join(" ")' "$j")" "deriveBits" "key_ops"
expect_match "$(ok azkm key show --vault-name kv1 --name dh)" "Operations +deriveBits" "table key_ops"
j=$(ok azkm key set-attributes --vault-name kv1 --name ec --ops sign verify deriveBits --output json)
expect_eq "$(jqr '.key.key_ops | join(" ")' "$j")" "sign verify deriveBits" "updated key_ops"
should_fail 2 "operation deriveBits does not apply to an $RSA key" \
    azkm key create --vault-name kv1 --name r --kty $RSA --ops deriveBits
should_fail 2 "key_ops: 'deriveKey' is not one of .*deriveBits" \
    azkm key create --vault-name kv1 --name r --kty $EC --ops deriveKey
pass
