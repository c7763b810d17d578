#!/usr/bin/env bash
# A vault whose master key is protected by a passphrase (scrypt): every source of the passphrase works
# (--passphrase-file, AZKM_PASSPHRASE_FILE, AZKM_PASSPHRASE), a wrong or missing one is refused with exit 7,
# and the passphrase never appears in the output or the keystore files.
. "$(dirname "$0")/lib.sh"

printf 'correct horse battery staple\n' >pass.txt
printf 'wrong horse\n' >wrong.txt
chmod 600 pass.txt wrong.txt

step "a passphrase file others can read is refused, as a PIN file is"
cp pass.txt open.txt
chmod 644 open.txt
should_fail 8 "PermissionDenied: new passphrase for vault secret: .*--passphrase-file: passphrase file open.txt has mode 0644: a passphrase file must not be accessible to group or others \(chmod 600\)" \
    azkm vault create --name secret --protector passphrase --passphrase-file open.txt
[ ! -e "$AZKM_KEYSTORE_DIR/secret" ] || fail "a vault was made with a refused passphrase file"

step "create with --passphrase-file"
out=$(ok azkm vault create --name secret --protector passphrase --passphrase-file pass.txt)
expect_match "$out" "Protector +passphrase" "protector"
if grep -rq "correct horse" "$AZKM_KEYSTORE_DIR"; then fail "the passphrase is stored in the keystore"; fi

step "every passphrase source unlocks the vault"
ok azkm key create --vault-name secret --name k1 --kty EC --passphrase-file pass.txt >/dev/null
ok azkm --passphrase-file pass.txt key show --vault-name secret --name k1 >/dev/null
AZKM_PASSPHRASE_FILE=pass.txt ok azkm key show --vault-name secret --name k1 >/dev/null
AZKM_PASSPHRASE='correct horse battery staple' ok azkm key show --vault-name secret --name k1 >/dev/null
printf 'x' >msg
AZKM_PASSPHRASE_FILE=pass.txt ok azkm key sign --vault-name secret --name k1 --algorithm ES256 --data-file msg \
    >/dev/null

step "wrong or missing passphrase"
should_fail 7 "Unauthorized: vault secret: wrong passphrase" azkm key show --vault-name secret --name k1 \
    --passphrase-file wrong.txt
AZKM_PASSPHRASE='nope' should_fail 7 "Unauthorized: .*secret" azkm key show --vault-name secret --name k1
should_fail 7 "Unauthorized: .*no passphrase" azkm key show --vault-name secret --name k1 </dev/null
should_fail 7 "Unauthorized: .*cannot read nothere.txt" azkm key show --vault-name secret --name k1 \
    --passphrase-file nothere.txt
: >empty.txt
chmod 600 empty.txt
should_fail 7 "Unauthorized: .*first line" azkm key show --vault-name secret --name k1 --passphrase-file empty.txt
chmod 640 open.txt
AZKM_PASSPHRASE_FILE=open.txt should_fail 8 "PermissionDenied: unlock vault secret: .*AZKM_PASSPHRASE_FILE: passphrase file open.txt has mode 0640" \
    azkm key show --vault-name secret --name k1
if grep -q "horse" "$TMP/sf.err"; then fail "a passphrase was printed"; fi

step "vault list does not ask: the locked vault shows by name"
ok azkm vault create --name plain >/dev/null
out=$(ok azkm vault list </dev/null)
expect_match "$out" "secret +\(not opened: Unauthorized" "locked vault listed"
expect_match "$(azkm vault list --output json </dev/null | jq -r '.[] | select(.name=="secret") | .error')" \
    "^Unauthorized: unlock vault secret" "locked vault in JSON"
expect_match "$out" "plain +platform" "platform vault listed"
expect_eq "$(AZKM_PASSPHRASE_FILE=pass.txt azkm vault list --output json | jq -r '.[] | select(.name=="secret") | .properties.protector')" \
    passphrase "unlocked listing"

step "the platform vault does not need a passphrase"
ok azkm key create --vault-name plain --name k --kty EC </dev/null >/dev/null
pass
