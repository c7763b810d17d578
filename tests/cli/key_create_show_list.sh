#!/usr/bin/env bash
# Creating every key type and size, then showing and listing them: types, sizes, curves, default key_ops,
# attributes given at creation, and the current version.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null

step "software RSA by default, even in a vault bound to a token"
j=$(ok azkm key create --vault-name kv1 --name rsa-default --output json)
expect_eq "$(jqr .key.kty "$j")" RSA "default kty"

step "$RSA 2048 by default"
j=$(ok azkm key create --vault-name kv1 --name rsa-2048 --kty $RSA --output json)
expect_eq "$(jqr .key.kty "$j")" $RSA "kty"
expect_match "$(jqr .key.kid "$j")" "^azkm://kv1/keys/rsa-2048/[0-9a-f]{32}$" "kid"
expect_eq "$(jqr '.key.key_ops | sort | join(",")' "$j")" "decrypt,encrypt,sign,unwrapKey,verify,wrapKey" "RSA ops"
expect_eq "$(jqr .attributes.enabled "$j")" true "enabled"
expect_eq "$(jqr .key.e "$j")" AQAB "public exponent"
# base64url of a 2048-bit modulus: 256 bytes -> 342 characters
expect_eq "$(jqr '.key.n | length' "$j")" 342 "modulus length"

step "$RSA 3072 and 4096"
for size in 3072 4096; do
    out=$(ok azkm key create --vault-name kv1 --name rsa-$size --kty $RSA --size $size)
    expect_match "$out" "Type +$RSA $size" "RSA $size"
done

step "EC curves"
for curve in P-256 P-384 P-521; do
    j=$(ok azkm key create --vault-name kv1 --name ec-${curve#P-} --kty $EC --curve $curve --output json)
    expect_eq "$(jqr .key.kty "$j")" $EC "EC kty"
    expect_eq "$(jqr .key.crv "$j")" $curve "curve"
    expect_eq "$(jqr '.key.key_ops | sort | join(",")' "$j")" "sign,verify" "EC ops"
done
j=$(ok azkm key create --vault-name kv1 --name ec-default --kty $EC --output json)
expect_eq "$(jqr .key.crv "$j")" P-256 "default curve"

step "$OCT (AES) keys"
for size in 128 192 256; do
    j=$(ok azkm key create --vault-name kv1 --name aes-$size --kty $OCT --size $size --output json)
    expect_eq "$(jqr .key.kty "$j")" $OCT "oct kty"
    expect_eq "$(jqr '.key | has("k")' "$j")" false "no secret in the output"
done
out=$(ok azkm key show --vault-name kv1 --name aes-256)
expect_match "$out" "Type +$OCT 256" "oct size"

step "attributes at creation"
j=$(ok azkm key create --vault-name kv1 --name tagged --kty $EC --ops sign --enabled false \
    --not-before 2020-01-01T00:00:00Z --expires 2099-12-31T23:59:59Z --tags team=web env=prod --output json)
expect_eq "$(jqr '.key.key_ops | join(",")' "$j")" sign "ops"
expect_eq "$(jqr .attributes.enabled "$j")" false "enabled false"
expect_eq "$(jqr .attributes.nbf "$j")" 1577836800 "nbf"
expect_eq "$(jqr .attributes.exp "$j")" 4102444799 "exp"
expect_eq "$(jqr .tags.team "$j")" web "tag team"
expect_eq "$(jqr .tags.env "$j")" prod "tag env"
j=$(ok azkm key create --vault-name kv1 --name epoch --kty $EC --expires 4102444799 --ops sign,verify --output json)
expect_eq "$(jqr .attributes.exp "$j")" 4102444799 "epoch expires"
expect_eq "$(jqr '.key.key_ops | join(",")' "$j")" "sign,verify" "comma ops"

step "show: table and by URI"
kid=$(jqr .key.kid "$j")
out=$(ok azkm key show --id "$kid")
expect_match "$out" "Key ID +$kid" "show by id"
expect_match "$out" "Expires +2099-12-31T23:59:59Z" "table expiry"
out=$(ok azkm key show --vault-name kv1 --name EPOCH)
expect_match "$out" "Name +epoch" "names are case-insensitive"

step "list"
names=$(azkm key list --vault-name kv1 --output json | jq -r '.[].name' | sort | tr '\n' ' ')
expect_eq "$names" "aes-128 aes-192 aes-256 ec-256 ec-384 ec-521 ec-default epoch rsa-2048 rsa-3072 rsa-4096 rsa-default tagged " "key list"
out=$(ok azkm key list --vault-name kv1)
expect_match "$out" "tagged +$EC +P-256 +false" "table row"

step "list-versions of a key with one version"
expect_eq "$(azkm key list-versions --vault-name kv1 --name epoch --output json | jq length)" 1 "one version"
pass
