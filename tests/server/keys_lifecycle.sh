#!/usr/bin/env bash
# A key's life through azkmd: update (disable, key_ops, tags), soft-delete and the deleted views, recover, purge,
# backup and restore (the restored key signs what the original's public key verifies), rotation policies (default,
# set, refused), random bytes. Every response in Key Vault's shape, every request audited.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
call POST "/keys/app/create?api-version=$API" '{"kty":"EC","crv":"P-256"}'
expect 200
v1=$(field .key.kid)
v1=${v1##*/}
jwk_to_pem "$T/app.pem"
digest=$(printf data | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')

step "update: disable the version (sign refused), enable it, narrow key_ops, set tags"
call PATCH "/keys/app/$v1?api-version=$API" '{"attributes":{"enabled":false}}'
expect 200
[ "$(field .attributes.enabled)" = false ] || fail "not disabled"
expect_audit 200 KeyUpdate
call POST "/keys/app//sign?api-version=$API" "{\"alg\":\"ES256\",\"value\":\"$digest\"}"
expect 403 Forbidden
# Versionless: the latest version, as PATCH /keys/{name} is in Key Vault.
call PATCH "/keys/app?api-version=$API" '{"attributes":{"enabled":true},"key_ops":["sign"],"tags":{"env":"test"}}'
expect 200
[ "$(field .key.kid)" = "http://web.$DOMAIN/keys/app/$v1" ] || fail "versionless update kid"
[ "$(field '.key.key_ops | join(",")')" = sign ] && [ "$(field .tags.env)" = test ] || fail "update result"
call POST "/keys/app//encrypt?api-version=$API" "{\"alg\":\"RSA-OAEP\",\"value\":\"AAAA\"}"
[ "${STATUS:0:1}" = 4 ] || fail "encrypt with a sign-only EC key: HTTP $STATUS"
call PATCH "/keys/app/$v1?api-version=$API" '{"attributes":{"enabled":"no"}}'
expect 400 BadParameter

step "backup, then delete: the DeletedKeyBundle, the deleted views, the name in use"
call POST "/keys/app/backup?api-version=$API"
expect 200
backup=$(field .value)
[ ${#backup} -gt 100 ] || fail "backup blob"
expect_audit 200 KeyBackup
call DELETE "/keys/app?api-version=$API"
expect 200
[ "$(field .recoveryId)" = "http://web.$DOMAIN/deletedkeys/app" ] || fail "recoveryId"
[ "$(field .deletedDate)" -gt 0 ] && [ "$(field .scheduledPurgeDate)" -gt "$(field .deletedDate)" ] || fail "dates"
expect_audit 200 KeyDelete
call GET "/keys/app?api-version=$API"
expect 404 KeyNotFound
call GET "/deletedkeys/APP?api-version=$API"
expect 200
[ "$(field .key.kid)" = "http://web.$DOMAIN/keys/app/$v1" ] || fail "deleted key kid"
call GET "/deletedkeys?api-version=$API"
expect 200
[ "$(field '.value | length')" = 1 ] && [ "$(field '.value[0].recoveryId')" = "http://web.$DOMAIN/deletedkeys/app" ] ||
    fail "deleted list"
call POST "/keys/app/create?api-version=$API" '{"kty":"EC"}'
expect 409 Conflict

step "recover, delete again, purge (204), then restore the backup"
call POST "/deletedkeys/app/recover?api-version=$API"
expect 200
expect_audit 200 KeyRecover
call GET "/keys/app?api-version=$API"
expect 200
call DELETE "/keys/app?api-version=$API"
expect 200
call DELETE "/deletedkeys/app?api-version=$API"
expect 204
[ ! -s "$T/body" ] || fail "204 with a body"
expect_audit 204 KeyPurge
call GET "/deletedkeys/app?api-version=$API"
expect 404 KeyNotFound
call POST "/keys/restore?api-version=$API" "{\"value\":\"$backup\"}"
expect 200
[ "$(field .key.kid)" = "http://web.$DOMAIN/keys/app/$v1" ] || fail "restored kid $(field .key.kid)"
expect_audit 200 KeyRestore
call POST "/keys/app//sign?api-version=$API" "{\"alg\":\"ES256\",\"value\":\"$digest\"}"
expect 200
b64url_decode "$(field .value)" "$T/sig.raw"
raw_to_der "$T/sig.raw" "$T/sig.der"
printf data | openssl dgst -sha256 -verify "$T/app.pem" -signature "$T/sig.der" >/dev/null ||
    fail "the restored key's signature does not verify with the original public key"
call POST "/keys/restore?api-version=$API" "{\"value\":\"${backup:0:60}AAAA\"}"
[ "${STATUS:0:1}" = 4 ] || fail "a damaged backup: HTTP $STATUS"

step "rotation policy: Key Vault's default, set, refused when too short"
call GET "/keys/app/rotationpolicy?api-version=$API"
expect 200
[ "$(field .id)" = "http://web.$DOMAIN/keys/app/rotationpolicy" ] || fail "policy id"
[ "$(field '.lifetimeActions[0].action.type')" = Notify ] || fail "default policy"
policy='{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P1Y"}}'
call PUT "/keys/app/rotationpolicy?api-version=$API" "$policy"
expect 200
expect_audit 200 KeyRotationPolicyUpdate
call GET "/keys/app/rotationpolicy?api-version=$API"
[ "$(field '.lifetimeActions[0].trigger.timeAfterCreate')" = P90D ] && [ "$(field .attributes.expiryTime)" = P1Y ] ||
    fail "stored policy"
call PUT "/keys/app/rotationpolicy?api-version=$API" '{"lifetimeActions":[],"attributes":{"expiryTime":"P1D"}}'
expect 400 BadParameter

step "random bytes"
call POST "/rng?api-version=$API" '{"count":32}'
expect 200
b64url_decode "$(field .value)" "$T/r1"
[ "$(stat -c %s "$T/r1")" = 32 ] || fail "rng length"
call POST "/rng?api-version=$API" '{"count":32}'
b64url_decode "$(field .value)" "$T/r2"
! cmp -s "$T/r1" "$T/r2" || fail "two random draws are equal"
expect_audit 200 GetRandomBytes
call POST "/rng?api-version=$API" '{"count":129}'
expect 400 BadParameter
[ "$(audit_count)" = "$CALLS" ] || fail "expected $CALLS request records, found $(audit_count)"

step "a vault created as Caps-Vault is reached as caps-vault.<domain> (host names are case-insensitive)"
"$AZKM" vault create --name Caps-Vault >/dev/null
CURL_EXTRA=(-H "Host: caps-vault.$DOMAIN")
call POST "/keys/k/create?api-version=$API" '{"kty":"EC"}'
CURL_EXTRA=()
expect 200
[ "$(field .key.kid | cut -d/ -f3)" = "caps-vault.$DOMAIN" ] || fail "kid host $(field .key.kid)"
"$AZKM" key show --vault-name Caps-Vault --name k >/dev/null || fail "the key is not in Caps-Vault"
echo "PASS"
