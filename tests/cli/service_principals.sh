#!/usr/bin/env bash
# azkm sp create|list|show|delete|credential-reset, as `az ad sp`: a client secret printed once and stored only as
# a hash, certificates (PEM or DER) by fingerprint and names, the identity store invisible to the vault commands,
# and a service principal as the assignee of a role.
. "$(dirname "$0")/lib.sh"

step "a service principal with a client secret, printed once"
sp=$(ok azkm sp create --display-name "web frontend" -o json)
app=$(jqr .appId "$sp")
pw=$(jqr .password "$sp")
expect_match "$app" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "appId"
expect_match "$pw" '^[A-Za-z0-9_-]{43}$' "password"
expect_eq "$(jqr .principal "$sp")" "sp:$app" "principal"
shown=$(ok azkm sp show --id "$app" -o json)
expect_eq "$(jqr '.password // "none"' "$shown")" none "show never prints the secret"
expect_eq "$(jqr '.passwordCredentials | length' "$shown")" 1 "one secret"
expect_eq "$(ok azkm sp show --id "${app^^}" -o json | jq -r .appId)" "$app" "an upper-case --id names the same principal"
grep -rqF -e "$pw" "$AZKM_KEYSTORE_DIR" && fail "the secret is stored in the clear"

step "credential reset: a new secret replaces the old one"
pw2=$(ok azkm sp credential-reset --id "${app^^}" -o json | jq -r .password)
expect_match "$pw2" '^[A-Za-z0-9_-]{43}$' "new password"
[ "$pw2" != "$pw" ] || fail "credential-reset kept the secret"

step "certificates, PEM and DER"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c.key -subj "/O=azkm/CN=batch" \
    -days 2 -out c.pem 2>/dev/null
openssl x509 -in c.pem -outform DER -out c.der
fp=$(openssl x509 -in c.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
m=$(ok azkm sp create --display-name batch --cert c.der -o json)
expect_eq "$(jqr '.keyCredentials[0].thumbprintSha256' "$m")" "$fp" "fingerprint"
expect_eq "$(jqr '.keyCredentials[0].subject' "$m")" "CN=batch,O=azkm" "subject"
expect_eq "$(jqr '.keyCredentials[0].usage' "$m")" Verify "the public key kept for client assertions"
expect_eq "$(jqr '.password // "none"' "$m")" none "no secret with only --cert"
m2=$(ok azkm sp create --display-name both --cert c.pem --create-secret -o json)
expect_eq "$(jqr '[(.password|length), (.keyCredentials|length)] | join(",")' "$m2")" "43,1" "secret and certificate"

step "list, delete"
expect_eq "$(ok azkm sp list -o json | jq length)" 3 "three principals"
expect_match "$(ok azkm sp list)" "^APP ID +SECRET +CERTIFICATE +DISPLAY NAME" "table"
ok azkm sp delete --id "$(jqr .appId "$m2")"
should_fail 3 "service principal $(jqr .appId "$m2") not found" azkm sp show --id "$(jqr .appId "$m2")"
expect_eq "$(ok azkm sp list -o tsv | wc -l)" 2 "two left"

step "the identity store is no vault"
ok vault_create --name prod -o none
expect_eq "$(ok azkm vault list -o json | jq -r '.[].name')" prod "vaults"
should_fail 2 "vault name '_identities' is invalid" azkm vault show --name _identities

step "a service principal holds a role"
ok azkm role assignment create --vault-name prod --role "Key Vault Crypto User" --assignee "sp:$app" --scope /keys \
    -o none
expect_eq "$(ok azkm role assignment list --vault-name prod --assignee "sp:${app^^}" -o json | jq -r '.[].principalId')" \
    "sp:$app" "assignee"

step "processes creating the first service principals at once share one identity store"
for round in 1 2 3; do
    ks=$TMP/race$round
    for p in a b c; do AZKM_KEYSTORE_DIR=$ks "$AZKM" sp create --display-name "$p" -o none 2>"$TMP/race.$p" & done
    wait
    cat "$TMP"/race.? | grep 'error' && fail "round $round: a concurrent create failed"
    expect_eq "$(AZKM_KEYSTORE_DIR=$ks ok azkm sp list -o tsv | wc -l)" 3 "round $round: principals"
    expect_eq "$(ls -A "$ks")" "_identities" "round $round: nothing left behind"
done

step "bad input"
should_fail 2 "--create-secret: false leaves no credential" azkm sp create --display-name x --create-secret false
should_fail 2 "certificate: not an X.509 certificate" azkm sp create --display-name x --cert c.key
should_fail 2 "display name must be 1-120" azkm sp create --display-name ""
should_fail 3 "not found" azkm sp credential-reset --id 0f8fad5b-d9cb-469f-a165-70867728950e
step "tampering with the identity store is detected"
sqlite3 "$AZKM_KEYSTORE_DIR/_identities/vault.db" "UPDATE service_principals SET display_name = 'evil'"
should_fail 6 "integrity check failed for service principal" azkm sp list

pass
