#!/usr/bin/env bash
# A vault's life: create with defaults and with settings, list, show, enable purge protection (one-way),
# refuse a duplicate, delete.
. "$(dirname "$0")/lib.sh"

step "create a vault with the defaults"
out=$(ok azkm vault create --name prod)
expect_match "$out" "Retention days +90" "default retention"
expect_match "$out" "Purge protection +false" "default purge protection"
expect_match "$out" "Protector +platform" "default protector"
[ -f "$AZKM_KEYSTORE_DIR/prod/master.key" ] || fail "master key file missing"
expect_eq "$(stat -c %a "$AZKM_KEYSTORE_DIR/prod/master.key")" 600 "master key file mode"

step "create a vault with settings"
j=$(ok azkm vault create --name payments --retention-days 7 --enable-purge-protection --output json)
expect_eq "$(jqr .name "$j")" payments "name"
expect_eq "$(jqr .properties.softDeleteRetentionInDays "$j")" 7 "retention"
expect_eq "$(jqr .properties.enablePurgeProtection "$j")" true "purge protection"
expect_eq "$(jqr .properties.vaultUri "$j")" "azkm://payments" "vault URI"

step "list shows both, sorted"
expect_eq "$(azkm vault list --output json | jq -r '.[].name' | tr '\n' ' ')" "payments prod " "vault list"
out=$(ok azkm vault list)
expect_match "$out" "prod +platform +90" "table list"

step "show counts keys"
ok azkm key create --vault-name prod --name k1 >/dev/null
expect_eq "$(azkm vault show --name prod --output json | jq -r .properties.keyCount)" 1 "key count"

step "update: purge protection is one-way"
j=$(ok azkm vault update --name prod --enable-purge-protection --output json)
expect_eq "$(jqr .properties.enablePurgeProtection "$j")" true "purge protection enabled"
should_fail 2 "cannot be turned off" azkm vault update --name prod --enable-purge-protection false

step "duplicate and bad settings"
should_fail 5 "Conflict: .*prod" azkm vault create --name prod
should_fail 5 "Conflict" azkm vault create --name PROD
should_fail 2 "--retention-days: must be 7-90 \(got 5\)" azkm vault create --name short --retention-days 5
should_fail 2 "--retention-days: must be 7-90 \(got 91\)" azkm vault create --name long --retention-days 91
should_fail 2 "--protector: must be platform, passphrase or hsm \(got 'tpm'\)" azkm vault create --name x1y \
    --protector tpm
should_fail 2 "BadParameter: .*invalid" azkm vault create --name 1bad

step "delete"
ok azkm vault delete --name payments
should_fail 3 "NotFound: vault payments" azkm vault show --name payments
expect_eq "$(azkm vault list --output json | jq -r '.[].name' | tr '\n' ' ')" "prod " "after delete"
pass
