#!/usr/bin/env bash
# Help at every level: azkm --help lists every command, each command's --help names its flags, defaults and
# examples, and a missing or unknown command is a usage error (exit 2).
. "$(dirname "$0")/lib.sh"

step "azkm --help lists every group and command"
top=$(ok azkm --help)
for c in "vault" create list show update delete import list-versions set-attributes rotate list-deleted recover \
    purge backup restore download show-deleted adopt verify sign verify encrypt decrypt wrap unwrap version; do
    expect_match "$top" "(^|[[:space:]])$c([[:space:]]|$)" "azkm --help mentions $c"
done
for f in --keystore-dir --config --output --passphrase-file AZKM_KEYSTORE_DIR AZKM_PASSPHRASE_FILE "Exit codes"; do
    expect_match "$top" "$f" "azkm --help mentions $f"
done

step "azkm key create --help says everything needed"
h=$(ok azkm key create --help)
for f in --vault-name --name --kty --size --curve --ops --enabled --not-before --expires --tags "Default: RSA" \
    "default 2048" "P-256" "Examples:" "azkm key create --vault-name"; do
    expect_match "$h" "$f" "key create --help mentions $f"
done

step "every command has --help (and -h)"
for c in "vault create" "vault list" "vault show" "vault update" "vault verify" "vault delete" "key create" "key adopt" "key import" \
    "key show" "key list" "key list-versions" "key set-attributes" "key rotate" "key delete" "key list-deleted" \
    "key show-deleted" "key recover" "key purge" "key backup" "key restore" "key download" "key sign" "key verify" "key encrypt" \
    "key decrypt" "key wrap" "key unwrap"; do
    # shellcheck disable=SC2086
    out=$(ok azkm $c --help)
    expect_match "$out" "^Usage: azkm $c" "$c --help"
    # shellcheck disable=SC2086
    out=$(ok azkm $c -h)
    expect_match "$out" "Flags:" "$c -h"
done
out=$(ok azkm key --help)
expect_match "$out" "set-attributes" "azkm key --help"

step "version"
expect_match "$(ok azkm version)" "^azkm [0-9]+\.[0-9]+\.[0-9]+ \(OpenSSL" "azkm version"
expect_eq "$(azkm -o json version | jq -r .azkm)" "$(azkm version | awk '{print $2}')" "version json"

step "usage errors"
should_fail 2 "BadParameter: missing command group" azkm
should_fail 2 "unknown command group 'vaults'" azkm vaults list
should_fail 2 "unknown command 'azkm key frobnicate'" azkm key frobnicate
should_fail 2 "missing command after 'azkm key'" azkm key
should_fail 2 "unknown flag '--colour'" azkm key list --vault-name v1 --colour red
should_fail 2 "--output: must be json, jsonc, table, tsv or none" azkm --output yaml vault list
pass
