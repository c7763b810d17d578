#!/usr/bin/env bash
# azkm role definition list and role assignment create|list|delete, as `az keyvault role`: Azure's built-in roles
# with their ids, assignments by user/group name stored by number, Conflict on a duplicate, filters, and an
# assignment edited in the database failing `azkm vault verify`.
. "$(dirname "$0")/lib.sh"

step "the built-in role definitions, in Azure's shape"
defs=$(ok azkm role definition list -o json)
expect_eq "$(jqr 'length' "$defs")" 8 "role count"
expect_eq "$(jqr '.[] | select(.roleName == "Key Vault Crypto User") | .name' "$defs")" \
    12338af0-0e69-4776-bea7-57ae8d297424 "Crypto User id"
expect_eq "$(jqr '.[] | select(.roleName == "Key Vault Crypto Service Encryption User") |
    .permissions[0].dataActions | join(",")' "$defs")" \
    "Microsoft.KeyVault/vaults/keys/read,Microsoft.KeyVault/vaults/keys/wrap/action,Microsoft.KeyVault/vaults/keys/unwrap/action" \
    "Crypto Service Encryption User data actions"
expect_match "$(ok azkm role definition list)" "^Key Vault Reader +21090545-7ca7-4776-b22c-e363652d74d2 " "table"
should_fail 3 "vault nope" azkm role definition list --vault-name nope

step "assignments by name, stored by number"
ok vault_create --name prod -o none
export AZKM_AUDIT_LOG=$TMP/audit.jsonl
a=$(ok azkm role assignment create --vault-name prod --role "key vault crypto user" --assignee user:root \
    --scope /keys/Web-TLS -o json)
expect_eq "$(jqr .principalId "$a")" "uid:0" "user:root stored as"
expect_eq "$(jqr .roleName "$a")" "Key Vault Crypto User" "role name"
expect_eq "$(jqr .scope "$a")" "/keys/Web-TLS" "scope"
expect_match "$(jqr .name "$a")" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "assignment name"
ok azkm role assignment create --vault-name prod --role 21090545-7ca7-4776-b22c-e363652d74d2 --assignee group:root \
    --scope / -o none
ok azkm role assignment create --vault-name prod --role "Key Vault Crypto Officer" \
    --assignee sp:0F8FAD5B-D9CB-469F-A165-70867728950E --scope /keys -o none

step "a duplicate conflicts, in any case of the key name"
should_fail 5 "Conflict: vault prod: uid:0 already has role Key Vault Crypto User at scope /keys/Web-TLS" \
    azkm role assignment create --vault-name prod --role "Key Vault Crypto User" --assignee uid:0 --scope /keys/web-tls

step "list, filtered"
all=$(ok azkm role assignment list --vault-name prod -o json)
expect_eq "$(jqr 'length' "$all")" 3 "assignments"
expect_eq "$(jqr '[.[].principalId] | sort | join(" ")' "$all")" \
    "gid:0 sp:0f8fad5b-d9cb-469f-a165-70867728950e uid:0" "principals"
expect_eq "$(ok azkm role assignment list --vault-name prod --assignee user:root -o tsv | cut -f5)" \
    "Key Vault Crypto User" "filter by assignee"
expect_eq "$(ok azkm role assignment list --vault-name prod --role "Key Vault Reader" -o json | jq -r '.[].principalId')" \
    "gid:0" "filter by role"
expect_match "$(ok azkm role assignment list --vault-name prod)" "^NAME +PRINCIPAL +ROLE +SCOPE" "table header"

step "vault verify checks the assignments; an edited one fails it"
expect_match "$(ok azkm vault verify --name prod)" "ok" "verify"
sqlite3 "$AZKM_KEYSTORE_DIR/prod/vault.db" \
    "UPDATE role_assignments SET role_id = '00482a5a-887f-4fb3-b363-3b7fe8e74483' WHERE principal = 'gid:0'"
should_fail 6 "integrity check failed for role assignment .* \(gid:0\)" azkm vault verify --name prod
should_fail 6 "integrity check failed" azkm role assignment list --vault-name prod
# put back as it was, the MAC holds again
sqlite3 "$AZKM_KEYSTORE_DIR/prod/vault.db" \
    "UPDATE role_assignments SET role_id = '21090545-7ca7-4776-b22c-e363652d74d2' WHERE principal = 'gid:0'"
ok azkm vault verify --name prod >/dev/null

step "delete by filter and by name"
ok azkm role assignment delete --vault-name prod --assignee group:root
id=$(jqr .name "$a")
ok azkm role assignment delete --vault-name prod --name "$id"
should_fail 3 "no role assignment matches" azkm role assignment delete --vault-name prod --name "$id"
expect_eq "$(ok azkm role assignment list --vault-name prod -o json | jq -r '.[].scope')" "/keys" "left"
ok azkm vault verify --name prod >/dev/null

step "the audit log names each assignment made or removed: id, principal, role and scope"
made=$(jq -c 'select(.operationName == "RoleAssignmentCreate" and .resultType == "Success") | .properties' \
    "$AZKM_AUDIT_LOG" | head -1)
expect_eq "$made" "{\"roleAssignmentId\":\"$id\",\"principalId\":\"uid:0\",\"roleDefinitionId\":\"12338af0-0e69-4776-bea7-57ae8d297424\",\"scope\":\"/keys/Web-TLS\"}" \
    "RoleAssignmentCreate properties"
gone=$(jq -c 'select(.operationName == "RoleAssignmentDelete" and .resultType == "Success") | .properties' \
    "$AZKM_AUDIT_LOG" | tail -1)
expect_eq "$(jq -r '[.roleAssignmentId, .principalId, .scope] | join(" ")' <<<"$gone")" "$id uid:0 /keys/Web-TLS" \
    "RoleAssignmentDelete properties"

step "bad input is refused by name"
should_fail 2 "--assignee: principal 'www' is not one of" \
    azkm role assignment create --vault-name prod --role "Key Vault Reader" --assignee www --scope /
should_fail 3 "no such user" \
    azkm role assignment create --vault-name prod --role "Key Vault Reader" --assignee user:no-such-azkm-user --scope /
should_fail 3 "role 'Key Vault Owner' is not a role definition" \
    azkm role assignment create --vault-name prod --role "Key Vault Owner" --assignee uid:1 --scope /
should_fail 2 "--scope: scope '/secrets' is not one of /, /keys or /keys/<key name>" \
    azkm role assignment create --vault-name prod --role "Key Vault Reader" --assignee uid:1 --scope /secrets
should_fail 2 "--scope" azkm role assignment create --vault-name prod --role "Key Vault Reader" --assignee uid:1
should_fail 2 "--name: name the assignment" azkm role assignment delete --vault-name prod
pass
