#!/usr/bin/env bash
# Every refusal prints one 'azkm: error: <Class>: <message>' line naming what failed and exits with the class's
# code: unknown vault/key/version, invalid names, duplicates, a deleted name reused, a wrong passphrase, missing
# or exposed keystore files, a damaged database, and bad flags. Nothing is lost: the other vault keeps working.
. "$(dirname "$0")/lib.sh"

ok azkm vault create --name kv1 >/dev/null
ok azkm vault create --name kv2 >/dev/null
ok azkm key create --vault-name kv1 --name k1 --kty EC >/dev/null
ok azkm key create --vault-name kv2 --name safe --kty EC >/dev/null
printf 'x' >msg

step "unknown vault, key, version"
should_fail 3 "NotFound: vault nosuch" azkm key list --vault-name nosuch
should_fail 3 "NotFound: .*kv1.*nokey" azkm key show --vault-name kv1 --name nokey
should_fail 3 "NotFound: .*k1.*0123456789abcdef0123456789abcdef" azkm key show --vault-name kv1 --name k1 \
    --version 0123456789abcdef0123456789abcdef
should_fail 3 "NotFound: .*nokey" azkm key sign --vault-name kv1 --name nokey --algorithm ES256 --data-file msg
should_fail 3 "NotFound: .*nokey" azkm key delete --vault-name kv1 --name nokey

step "invalid names and versions"
should_fail 2 "BadParameter: .*bad_name" azkm key create --vault-name kv1 --name bad_name
should_fail 2 "BadParameter" azkm key create --vault-name kv1 --name "$(printf 'a%.0s' $(seq 128))"
should_fail 2 "BadParameter: .*version" azkm key show --vault-name kv1 --name k1 --version xyz
should_fail 2 "BadParameter: vault name 'a' is invalid" azkm vault create --name a
should_fail 2 "BadParameter: vault name 'ab--cd' is invalid" azkm vault show --name ab--cd
should_fail 2 "BadParameter: --id" azkm key show --id https://kv1.vault.azure.net/keys/k1

step "duplicates and deleted names"
should_fail 5 "Conflict: .*kv1" azkm vault create --name kv1
should_fail 5 "Conflict: key kv1/k1 already exists" azkm key create --vault-name kv1 --name k1 --kty EC
should_fail 5 "Conflict: key kv1/K1 already exists" azkm key create --vault-name kv1 --name K1 --kty RSA
ok azkm key create --vault-name kv1 --name gone --kty EC >/dev/null
ok azkm key delete --vault-name kv1 --name gone >/dev/null
should_fail 5 "Conflict: .*gone.*deleted" azkm key create --vault-name kv1 --name gone --kty EC
should_fail 5 "Conflict: .*GONE.*deleted" azkm key import --vault-name kv1 --name GONE --kty oct --file <(head -c 32 /dev/urandom)

step "bad flags name the flag and the problem"
should_fail 2 "BadParameter: unknown flag '--nmae'" azkm key show --vault-name kv1 --nmae k1
should_fail 2 "BadParameter: --name: needs a value" azkm key show --vault-name kv1 --name
should_fail 2 "BadParameter: --vault-name: required" azkm key list
should_fail 2 "BadParameter: --name: given more than once" azkm key show --vault-name kv1 --name a --name b
should_fail 2 "BadParameter: unexpected argument 'extra'" azkm key list --vault-name kv1 extra
should_fail 2 "BadParameter: --enabled: must be true or false \(got 'yes'\)" azkm key create --vault-name kv1 \
    --name k9 --enabled yes
should_fail 2 "BadParameter: --expires: must be ISO-8601" azkm key create --vault-name kv1 --name k9 \
    --expires tomorrow
should_fail 2 "BadParameter: --kty: must be RSA, EC, oct" azkm key create --vault-name kv1 --name k9 --kty DSA
should_fail 2 "BadParameter: --curve: must be P-256" azkm key create --vault-name kv1 --name k9 --kty EC \
    --curve P-192
should_fail 2 "BadParameter: --curve: only for EC keys" azkm key create --vault-name kv1 --name k9 --curve P-256
should_fail 2 "BadParameter: --size: must be a number" azkm key create --vault-name kv1 --name k9 --size big
should_fail 2 "BadParameter: --size: RSA keys are 2048, 3072 or 4096 bits \(got 1024\)" azkm key create --vault-name kv1 --name k9 --size 1024
should_fail 2 "BadParameter: --tags" azkm key create --vault-name kv1 --name k9 \
    --tags t1=1 t2=2 t3=3 t4=4 t5=5 t6=6 t7=7 t8=8 t9=9 t10=10 t11=11 t12=12 t13=13 t14=14 t15=15 t16=16
should_fail 2 "BadParameter: --encoding: must be PEM, DER or JWK" azkm key download --vault-name kv1 --name k1 \
    --encoding XML
should_fail 2 "BadParameter: --id: cannot be combined" azkm key show --id azkm://kv1/keys/k1 --name k1
should_fail 2 "BadParameter: .*no public part" azkm key download --vault-name kv1 --name \
    "$(azkm key create --vault-name kv1 --name aes --kty oct --output json | jq -r '.key.kid | split("/")[4]')"

step "keystore files readable by others"
db="$AZKM_KEYSTORE_DIR/kv1/vault.db"
mk="$AZKM_KEYSTORE_DIR/kv1/master.key"
[ -f "$db" ] && [ -f "$mk" ] || fail "unexpected keystore layout: $(ls -R "$AZKM_KEYSTORE_DIR")"
chmod 644 "$mk"
should_fail 8 "PermissionDenied: vault kv1: master key file .* has mode 0644" azkm key show --vault-name kv1 --name k1
chmod 600 "$mk"
chmod 604 "$db"
should_fail 8 "PermissionDenied: vault kv1: .*vault.db" azkm key show --vault-name kv1 --name k1
chmod 600 "$db"
ok azkm key show --vault-name kv1 --name k1 >/dev/null

step "missing master key file"
mv "$mk" "$TMP/mk.saved"
should_fail 3 "NotFound: vault kv1: master key file .* is missing" azkm key show --vault-name kv1 --name k1
mv "$TMP/mk.saved" "$mk"

step "a corrupted or truncated database"
cp -p "$db" "$TMP/db.saved"
head -c 100 /dev/urandom >"$db"
rc=0
azkm key list --vault-name kv1 2>err >/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "a random database opened"
grep -Eq '^azkm: error: (Corrupt|IntegrityCheckFailed|IOError): .*kv1' err || fail "corrupt db: $(cat err)"
head -c "$(($(stat -c %s "$TMP/db.saved") / 2))" "$TMP/db.saved" >"$db"
rc=0
azkm key list --vault-name kv1 2>err >/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "a truncated database opened"
grep -Eq '^azkm: error: (Corrupt|IntegrityCheckFailed|IOError): .*kv1' err || fail "truncated db: $(cat err)"
expect_eq "$(grep -c '^azkm: error:' err)" 1 "one error line"
: >"$db"
rc=0
azkm key list --vault-name kv1 2>err >/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "an empty database opened"

step "the other vault is untouched"
ok azkm key sign --vault-name kv2 --name safe --algorithm ES256 --data-file msg >/dev/null
cp -p "$TMP/db.saved" "$db"
ok azkm key show --vault-name kv1 --name k1 >/dev/null

step "a missing keystore file names the flag"
should_fail 2 "BadParameter: --data-file: cannot read nofile" azkm key sign --vault-name kv1 --name k1 \
    --algorithm ES256 --data-file nofile
pass
