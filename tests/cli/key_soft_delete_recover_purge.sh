#!/usr/bin/env bash
# Soft-delete: a deleted key is listed as deleted, cannot be used or re-created, comes back with all its
# versions on recover, and is gone for good after purge; purge protection refuses the purge.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 --retention-days 14 >/dev/null
ok azkm key create --vault-name kv1 --name web --kty $EC >/dev/null
ok azkm key rotate --vault-name kv1 --name web >/dev/null
printf 'data' >msg

step "delete"
j=$(ok azkm key delete --vault-name kv1 --name web --output json)
expect_eq "$(jqr .recoveryId "$j")" "azkm://kv1/deletedkeys/web" "recoveryId"
del=$(jqr .deletedDate "$j")
purge=$(jqr .scheduledPurgeDate "$j")
expect_eq "$((purge - del))" $((14 * 86400)) "scheduled purge = deleted + retention"
expect_eq "$(azkm key list --vault-name kv1 --output json | jq length)" 0 "no active keys"
expect_eq "$(azkm key list-deleted --vault-name kv1 --output json | jq -r '.[].name')" web "list-deleted"
expect_match "$(ok azkm key list-deleted --vault-name kv1)" "web +$EC " "list-deleted table"
j=$(ok azkm key show-deleted --vault-name kv1 --name WEB --output json)
expect_eq "$(jqr .key.kty "$j")" $EC "show-deleted"
expect_eq "$(jqr .scheduledPurgeDate "$j")" "$purge" "show-deleted purge date"
should_fail 3 "NotFound: key kv1/nope is not a deleted key" azkm key show-deleted --vault-name kv1 --name nope

step "a deleted key cannot be used, changed or re-created"
should_fail 3 "NotFound: key kv1/web is deleted" azkm key sign --vault-name kv1 --name web --algorithm ES256 \
    --data-file msg
should_fail 3 "NotFound: key kv1/web is deleted" azkm key rotate --vault-name kv1 --name web
should_fail 3 "NotFound: .*kv1/web is deleted" azkm key set-attributes --vault-name kv1 --name web --enabled false
should_fail 5 "Conflict: .*web.*deleted" azkm key create --vault-name kv1 --name web
should_fail 5 "Conflict: .*WEB.*deleted" azkm key create --vault-name kv1 --name WEB --kty $EC

step "recover brings back all versions"
ok azkm key recover --vault-name kv1 --name web >/dev/null
expect_eq "$(azkm key list-versions --vault-name kv1 --name web --output json | jq length)" 2 "versions back"
ok azkm key sign --vault-name kv1 --name web --algorithm ES256 --data-file msg >/dev/null
should_fail 3 "NotFound: .*web" azkm key recover --vault-name kv1 --name web
should_fail 3 "NotFound: .*web" azkm key purge --vault-name kv1 --name web
should_fail 3 "NotFound: key kv1/web is not a deleted key" azkm key show-deleted --vault-name kv1 --name web

step "purge removes it for good; the name is free again"
# token objects of the key (private and public halves of both versions), labelled azkm:<vault>/<name>/<version>
token_objects() {
    p11tool "$HSM_TOKEN" --list-objects 2>/dev/null | grep -c "label: *azkm:kv1/web/" || true
}
if hsm_tier; then
    expect_eq "$(token_objects)" 4 "token objects of web's two versions before purge"
fi
ok azkm key delete --vault-name kv1 --name web >/dev/null
ok azkm key purge --vault-name kv1 --name web
if hsm_tier; then
    expect_eq "$(token_objects)" 0 "token objects left after purge"
fi
expect_eq "$(azkm key list-deleted --vault-name kv1 --output json | jq length)" 0 "nothing deleted left"
should_fail 3 "NotFound: .*web" azkm key show --vault-name kv1 --name web
should_fail 3 "NotFound: .*web" azkm key recover --vault-name kv1 --name web
ok azkm key create --vault-name kv1 --name web >/dev/null

step "purge protection refuses the purge but allows recover"
ok vault_create --name locked --enable-purge-protection >/dev/null
ok azkm key create --vault-name locked --name k --kty $EC >/dev/null
ok azkm key delete --vault-name locked --name k >/dev/null
should_fail 4 "Forbidden: .*k.*purge" azkm key purge --vault-name locked --name k
ok azkm key recover --vault-name locked --name k >/dev/null
pass
