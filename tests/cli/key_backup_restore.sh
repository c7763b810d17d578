#!/usr/bin/env bash
# Backup and restore: the blob holds every version encrypted (no key material in the clear) and the key's rotation
# policy, restores into the same vault after a purge, or into another vault of the keystore, with signatures still
# verifying and the policy in force, and is refused when tampered (anywhere, the vault id included) or when the
# key exists.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
ok vault_create --name kv2 >/dev/null
if hsm_tier; then
    # An HSM key's material never leaves the token, so it has no backup: the refusal is the scenario here.
    ok azkm key create --vault-name kv1 --name app --kty $RSA --tags a=1 >/dev/null
    ok azkm key rotate --vault-name kv1 --name app >/dev/null
    step "backup of an HSM key is refused and writes nothing"
    should_fail 4 "Forbidden: key kv1/app is an HSM key: its material cannot leave the token, so it has no backup" \
        azkm key backup --vault-name kv1 --name app --file app.bak
    [ ! -e app.bak ] || fail "a refused backup left app.bak behind"
    ok azkm key create --vault-name kv1 --name ec --kty $EC >/dev/null
    should_fail 4 "Forbidden: key kv1/ec is an HSM key" azkm key backup --vault-name kv1 --name ec --file ec.bak
    step "the key is untouched"
    printf 'payload' >msg
    ok azkm key sign --vault-name kv1 --name app --algorithm RS256 --data-file msg >/dev/null
    pass
    exit 0
fi
ok azkm key create --vault-name kv1 --name app --kty RSA --tags a=1 >/dev/null
ok azkm key rotate --vault-name kv1 --name app >/dev/null
printf 'payload' >msg
ok azkm key sign --vault-name kv1 --name app --algorithm RS256 --data-file msg --signature-file sig >/dev/null
ok azkm key download --vault-name kv1 --name app --file pub.pem
ok azkm key rotation-policy set --vault-name kv1 --name app --value '{"lifetimeActions":[
    {"trigger":{"timeAfterCreate":"P60D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P1Y"}}' >/dev/null
policy=$(ok azkm key rotation-policy show --vault-name kv1 --name app --output json)

step "backup"
ok azkm key backup --vault-name kv1 --name app --file app.bak
[ -s app.bak ] || fail "empty backup"
expect_eq "$(stat -c %a app.bak)" 600 "backup file mode"
# The public modulus may appear; the private exponent must not. Extracting it needs the key: check that no
# PKCS#8 header or PEM marker is in the blob instead.
if grep -aq "PRIVATE KEY" app.bak; then fail "backup holds a PEM private key"; fi

step "restore refused while the key exists"
should_fail 5 "Conflict: .*app" azkm key restore --vault-name kv1 --file app.bak

step "restore into another vault of the keystore"
j=$(ok azkm key restore --vault-name kv2 --file app.bak --output json)
expect_match "$(jqr .key.kid "$j")" "^azkm://kv2/keys/app/" "restored into kv2"
ok azkm key verify --vault-name kv2 --name app --algorithm RS256 --data-file msg --signature-file sig >/dev/null
ok azkm key sign --vault-name kv2 --name app --algorithm RS256 --data-file msg >/dev/null
expect_eq "$(ok azkm key rotation-policy show --vault-name kv2 --name app --output json)" "$policy" \
    "rotation policy restored in kv2"
ok azkm vault verify --name kv2 >/dev/null
should_fail 5 "Conflict: key kv2/app exists" azkm key restore --vault-name kv2 --file app.bak

step "one flipped byte in the vault id (offset 20) is an integrity error, not another vault"
cp app.bak id.bak
flip_byte id.bak 20
should_fail 6 "IntegrityCheckFailed: backup blob: integrity check failed" azkm key restore --vault-name kv1 --file id.bak
should_fail 6 "IntegrityCheckFailed: backup blob: integrity check failed" azkm key restore --vault-name kv2 --file id.bak

step "restore after delete + purge"
ok azkm key delete --vault-name kv1 --name app >/dev/null
ok azkm key purge --vault-name kv1 --name app
j=$(ok azkm key restore --vault-name kv1 --file app.bak --output json)
expect_eq "$(jqr .tags.a "$j")" 1 "tags restored"
expect_eq "$(azkm key list-versions --vault-name kv1 --name app --output json | jq length)" 2 "versions restored"
ok azkm key verify --vault-name kv1 --name app --algorithm RS256 --data-file msg --signature-file sig >/dev/null
openssl dgst -sha256 -verify pub.pem -signature sig msg >/dev/null || fail "old signature no longer verifies"
expect_eq "$(ok azkm key rotation-policy show --vault-name kv1 --name app --output json)" "$policy" \
    "rotation policy restored"
j=$(ok azkm key rotate --vault-name kv1 --name app --output json)
expect_eq "$(($(jqr .attributes.exp "$j") - $(jqr .attributes.created "$j")))" $((365 * 86400)) \
    "the restored policy's expiryTime applies"
ok azkm vault verify --name kv1 >/dev/null

step "a tampered blob is refused"
ok azkm key delete --vault-name kv1 --name app >/dev/null
ok azkm key purge --vault-name kv1 --name app
size=$(stat -c %s app.bak)
cp app.bak bad.bak
flip_byte bad.bak $((size / 2))
cmp -s app.bak bad.bak && fail "tampering did not change the blob"
should_fail 6 "IntegrityCheckFailed" azkm key restore --vault-name kv1 --file bad.bak
head -c $((size / 2)) app.bak >short.bak
rc=0
azkm key restore --vault-name kv1 --file short.bak 2>err || rc=$?
[ "$rc" -ne 0 ] || fail "truncated blob restored"
should_fail 3 "NotFound: .*app" azkm key show --vault-name kv1 --name app
ok azkm key restore --vault-name kv1 --file app.bak >/dev/null
pass
