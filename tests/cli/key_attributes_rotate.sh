#!/usr/bin/env bash
# Versions and their attributes: rotate makes a new current version with the same ops and tags,
# set-attributes changes one version, and the keystore enforces enabled, nbf, exp and key_ops.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
j=$(ok azkm key create --vault-name kv1 --name signer --kty $EC --ops sign verify --tags app=x --output json)
v1=$(jqr .key.kid "$j" | awk -F/ '{print $NF}')
printf 'hello' >msg

step "rotate"
j=$(ok azkm key rotate --vault-name kv1 --name signer --output json)
v2=$(jqr .key.kid "$j" | awk -F/ '{print $NF}')
[ "$v1" != "$v2" ] || fail "rotate kept the version"
expect_eq "$(jqr '.key.key_ops | join(",")' "$j")" "sign,verify" "rotated ops"
expect_eq "$(jqr .tags.app "$j")" x "rotated tags"
vers=$(ok azkm key list-versions --vault-name kv1 --name signer --output json)
expect_eq "$(jqr length "$vers")" 2 "two versions"
expect_eq "$(jqr '[.[] | select(.current)] | .[0].kid' "$vers")" "azkm://kv1/keys/signer/$v2" "current version"
expect_match "$(ok azkm key show --vault-name kv1 --name signer)" "Version +$v2 \(current\)" "show current"
expect_match "$(ok azkm key show --vault-name kv1 --name signer --version $v1)" "Version +$v1$" "show old"

step "set-attributes on the old version only"
j=$(ok azkm key set-attributes --vault-name kv1 --name signer --version $v1 --enabled false --tags owner=ops \
    --output json)
expect_eq "$(jqr .attributes.enabled "$j")" false "disabled"
expect_eq "$(jqr .tags.owner "$j")" ops "new tags"
expect_eq "$(azkm key show --vault-name kv1 --name signer --output json | jq -r .attributes.enabled)" true \
    "current still enabled"
should_fail 4 "Forbidden: .*signer.*disabled" \
    azkm key sign --vault-name kv1 --name signer --version $v1 --algorithm ES256 --data-file msg
ok azkm key sign --vault-name kv1 --name signer --algorithm ES256 --data-file msg >/dev/null

step "expired and not-yet-valid versions are refused"
ok azkm key set-attributes --vault-name kv1 --name signer --expires 2001-01-01T00:00:00Z >/dev/null
should_fail 4 "Forbidden: .*signer.*expired" azkm key sign --vault-name kv1 --name signer --algorithm ES256 \
    --data-file msg
ok azkm key set-attributes --vault-name kv1 --name signer --expires none --not-before 2099-01-01 >/dev/null
should_fail 4 "Forbidden: .*signer.*not (yet )?valid" azkm key sign --vault-name kv1 --name signer \
    --algorithm ES256 --data-file msg
ok azkm key set-attributes --vault-name kv1 --name signer --not-before none >/dev/null
ok azkm key sign --vault-name kv1 --name signer --algorithm ES256 --data-file msg >/dev/null

step "key_ops are enforced"
ok azkm key set-attributes --vault-name kv1 --name signer --ops verify >/dev/null
should_fail 4 "Forbidden: .*signer.*sign" azkm key sign --vault-name kv1 --name signer --algorithm ES256 \
    --data-file msg
should_fail 2 "BadParameter: --ops" azkm key set-attributes --vault-name kv1 --name signer --ops fly
should_fail 2 "nothing to change" azkm key set-attributes --vault-name kv1 --name signer

step "rotate an RSA key keeps its size"
ok azkm key create --vault-name kv1 --name r3 --kty $RSA --size 3072 >/dev/null
expect_match "$(ok azkm key rotate --vault-name kv1 --name r3)" "Type +$RSA 3072" "rotated RSA size"

step "a key named in another case rotates and imports into the key as created (its new versions work)"
ok azkm key create --vault-name kv1 --name Mixed-Case --kty $RSA >/dev/null
expect_match "$(ok azkm key rotate --vault-name kv1 --name mixed-case)" "Mixed-Case" "rotated name"
ok azkm key sign --vault-name kv1 --name MIXED-case --algorithm RS256 --data-file msg >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out mixed.pem 2>/dev/null
ok azkm key import --vault-name kv1 --name mixed-CASE --file mixed.pem --kty $RSA >/dev/null
ok azkm key sign --vault-name kv1 --name Mixed-Case --algorithm RS256 --data-file msg >/dev/null
pass
