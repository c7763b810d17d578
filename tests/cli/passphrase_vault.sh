#!/usr/bin/env bash
# A vault whose master key is protected by a passphrase (scrypt): every source of the passphrase works
# (--passphrase-file, AZKM_PASSPHRASE_FILE, AZKM_PASSPHRASE), a wrong or missing one is refused with exit 7,
# and the passphrase never appears in the output or the keystore files.
. "$(dirname "$0")/lib.sh"

printf 'correct horse battery staple\n' >pass.txt
printf 'wrong horse\n' >wrong.txt

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
should_fail 7 "Unauthorized: .*first line" azkm key show --vault-name secret --name k1 --passphrase-file empty.txt
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
