#!/usr/bin/env bash
# JSON output follows Azure Key Vault's shapes: key bundles with a JWK whose public values match openssl's,
# attributes and tags; list items; deleted-key fields; vaults. Downloaded JWKs carry kid and key_ops.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 --retention-days 30 >/dev/null

b64url_hex() { # base64url -> lowercase hex
    local s
    s=$(printf '%s' "$1" | tr '_-' '/+')
    while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
    printf '%s' "$s" | base64 -d | od -An -v -tx1 | tr -d ' \n'
}

step "RSA key bundle"
# -o is --output; it also ends the word list of --tags
j=$(ok azkm key create --vault-name kv1 --name rsa --kty $RSA --tags env=test -o json)
expect_eq "$(jqr 'keys_unsorted | join(",")' "$j")" "key,attributes,tags" "top-level fields"
expect_eq "$(jqr '.key | keys_unsorted | join(",")' "$j")" "kid,kty,key_ops,n,e" "JWK fields"
expect_eq "$(jqr .key.kty "$j")" $RSA "kty"
expect_eq "$(jqr .attributes.exportable "$j")" false "exportable"
expect_eq "$(jqr '.attributes | keys | join(",")' "$j")" \
    "created,enabled,exp,exportable,nbf,recoverableDays,recoveryLevel,updated" "attribute fields"
expect_eq "$(jqr .attributes.recoverableDays "$j")" 30 "recoverableDays"
expect_match "$(jqr .attributes.recoveryLevel "$j")" "^Recoverable" "recoveryLevel"
expect_eq "$(jqr .attributes.exp "$j")" null "no expiry"
now=$(date +%s)
created=$(jqr .attributes.created "$j")
[ $((now - created)) -ge 0 ] && [ $((now - created)) -lt 600 ] || fail "created $created is not now ($now)"
expect_eq "$(jqr .tags.env "$j")" test "tags"
expect_match "$(jqr .key.n "$j")" '^[A-Za-z0-9_-]+$' "n is base64url without padding"
ok azkm key download --vault-name kv1 --name rsa --file rsa.pem
mod=$(openssl rsa -pubin -in rsa.pem -noout -modulus | cut -d= -f2 | tr 'A-F' 'a-f')
expect_eq "$(b64url_hex "$(jqr .key.n "$j")")" "$mod" "n matches openssl's modulus"

step "EC key bundle: x and y padded to the field size"
for curve in P-256 P-384 P-521; do
    j=$(ok azkm key create --vault-name kv1 --name ec${curve#P-} --kty $EC --curve $curve --output json)
    expect_eq "$(jqr '.key | keys_unsorted | join(",")' "$j")" "kid,kty,key_ops,crv,x,y" "EC JWK fields"
    ok azkm key download --vault-name kv1 --name ec${curve#P-} --file ec.pem
    pub=$(openssl pkey -pubin -in ec.pem -outform DER | od -An -v -tx1 | tr -d ' \n')
    x=$(b64url_hex "$(jqr .key.x "$j")")
    y=$(b64url_hex "$(jqr .key.y "$j")")
    width=$(( ($(echo ${curve#P-}) + 7) / 8 ))
    expect_eq "${#x}" $((2 * width)) "x length on $curve"
    # SubjectPublicKeyInfo ends with the uncompressed point 04||x||y
    expect_eq "${pub: -$((4 * width + 2))}" "04$x$y" "x,y match the public key on $curve"
done

step "oct key bundle has no key material"
j=$(ok azkm key create --vault-name kv1 --name aes --kty $OCT --output json)
expect_eq "$(jqr '.key | keys_unsorted | join(",")' "$j")" "kid,kty,key_ops" "oct JWK fields"

step "download as JWK"
ok azkm key download --vault-name kv1 --name ec256 --encoding JWK --file ec.jwk
jwk=$(cat ec.jwk)
# a downloaded JWK is a plain RFC 7517 public key: kty is the JOSE type on both tiers
expect_eq "$(jqr .kty "$jwk")" EC "kty"
expect_eq "$(jqr .crv "$jwk")" P-256 "crv"
expect_match "$(jqr .kid "$jwk")" "^azkm://kv1/keys/ec256/[0-9a-f]{32}$" "kid"
expect_eq "$(jqr '.key_ops | join(",")' "$jwk")" "sign,verify" "key_ops"
expect_eq "$(azkm key download --vault-name kv1 --name rsa --encoding JWK | jq -r .e)" AQAB "JWK to stdout"

step "list items"
l=$(ok azkm key list --vault-name kv1 --output json)
expect_eq "$(jqr length "$l")" 5 "five keys"
expect_eq "$(jqr '.[0] | keys | join(",")' "$l")" "attributes,current,kid,kty,name,tags" "list item fields"

step "deleted key fields"
j=$(ok azkm key delete --vault-name kv1 --name aes --output json)
expect_eq "$(jqr .recoveryId "$j")" "azkm://kv1/deletedkeys/aes" "recoveryId"
expect_match "$(jqr .deletedDate "$j")" '^[0-9]+$' "deletedDate"
expect_match "$(jqr .scheduledPurgeDate "$j")" '^[0-9]+$' "scheduledPurgeDate"
l=$(ok azkm key list-deleted --vault-name kv1 --output json)
expect_eq "$(jqr '.[0].recoveryId' "$l")" "azkm://kv1/deletedkeys/aes" "list-deleted recoveryId"

step "vault"
v=$(ok azkm vault show --name kv1 --output json)
expect_eq "$(jqr '.properties | keys | join(",")' "$v")" \
    "created,deletedKeyCount,enablePurgeProtection,enableSoftDelete,hsm,keyCount,path,protector,softDeleteRetentionInDays,vaultUri" \
    "vault fields"
expect_eq "$(jqr .properties.keyCount "$v")" 4 "active keys"
expect_eq "$(jqr .properties.deletedKeyCount "$v")" 1 "deleted keys"
if hsm_tier; then
    expect_eq "$(jqr .properties.hsm.token "$v")" "$HSM_TOKEN" "token"
    expect_eq "$(jqr .properties.hsm.module "$v")" "$HSM_MODULE" "module"
    expect_eq "$(jqr .properties.hsm.pinSource "$v")" "file:$HSM_PIN_FILE" "PIN source"
else
    expect_eq "$(jqr .properties.hsm "$v")" null "no token"
fi

step "errors go to stderr only; stdout stays valid or empty"
rc=0
out=$(azkm key show --vault-name kv1 --name nope --output json 2>/dev/null) || rc=$?
expect_eq "$rc" 3 "exit code"
expect_eq "$out" "" "nothing on stdout"
pass
