#!/usr/bin/env bash
# A key record edited behind azkm's back (attributes changed, key material swapped between keys) is refused with
# an integrity error naming the key and version, and the untouched keys of the vault keep working.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
for k in k1 k2 k3; do ok azkm key create --vault-name kv1 --name $k --kty $EC --ops sign >/dev/null; done
db="$AZKM_KEYSTORE_DIR/kv1/vault.db"
printf 'x' >msg
id_of() { printf "(SELECT id FROM keys WHERE name_lc='%s')" "$1"; }

step "widen k1's key_ops in the database"
sqlite3 "$db" "UPDATE versions SET key_ops = 127 WHERE key_id = $(id_of k1)"
v1=$(sqlite3 "$db" "SELECT version FROM versions WHERE key_id = $(id_of k1)")
should_fail 6 "IntegrityCheckFailed: vault kv1: integrity check failed for key k1 version $v1" \
    azkm key sign --vault-name kv1 --name k1 --algorithm ES256 --data-file msg
should_fail 6 "IntegrityCheckFailed: .*key k1" azkm key show --vault-name kv1 --name k1

step "move k3's sealed material into k2"
sqlite3 "$db" "UPDATE versions SET material = (SELECT material FROM versions WHERE key_id = $(id_of k3))
               WHERE key_id = $(id_of k2)"
should_fail 6 "IntegrityCheckFailed: .*key k2 .*(material|token reference)" \
    azkm key sign --vault-name kv1 --name k2 --algorithm ES256 --data-file msg

step "k3 keeps working"
ok azkm key sign --vault-name kv1 --name k3 --algorithm ES256 --data-file msg >/dev/null
ok azkm key show --vault-name kv1 --name k3 >/dev/null
pass
