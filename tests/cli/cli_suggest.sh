#!/usr/bin/env bash
# "Did you mean": a mistyped group, command or flag is a usage error (exit 2) that names the closest known one
# (edit distance, swaps of neighbours count once, a prefix of a longer flag counts); nothing close, no suggestion.
# Unsupported sizes and curves are both usage errors (exit 2).
. "$(dirname "$0")/lib.sh"

step "commands and groups"
should_fail 2 "unknown command 'azkm key lst' \(did you mean 'list'\? see azkm key --help\)" azkm key lst
should_fail 2 "did you mean 'create'\?" azkm vault craete
should_fail 2 "unknown command group 'kye' \(did you mean 'key'\?" azkm kye list
should_fail 2 "did you mean 'version'\?" azkm verison
should_fail 2 "did you mean 'encrypt'\?" azkm encrpyt
should_fail 2 "did you mean 'list-versions'\?" azkm key list-version
should_fail 2 "unknown command 'azkm key frobnicate' \(see azkm key --help\)" azkm key frobnicate

step "flags"
should_fail 2 "unknown flag '--vault-nam' \(did you mean '--vault-name'\? see --help\)" azkm key list --vault-nam x
should_fail 2 "did you mean '--vault-name'\?" azkm key list --vault x
should_fail 2 "did you mean '--keystore-dir'\?" azkm vault list --keystore-dri /tmp
should_fail 2 "did you mean '--curve'\?" azkm key create --vault-name v --name k --kty EC --cruve P-256
should_fail 2 "unknown flag '--colour' \(see --help\)" azkm key list --vault-name v --colour red

step "unsupported sizes and curves: the same exit code (2, bad parameter)"
ok azkm vault create --name suggestv >/dev/null
should_fail 2 "--size: RSA keys are 2048, 3072 or 4096 bits \(got 1024\)" \
    azkm key create --vault-name suggestv --name k1 --kty RSA --size 1024
should_fail 2 "--size: oct keys are 128, 192 or 256 bits \(got 100\)" \
    azkm key create --vault-name suggestv --name k1 --kty oct --size 100
should_fail 2 "--curve: must be P-256, P-384 or P-521" azkm key create --vault-name suggestv --name k1 --kty EC --curve P-999
echo "cli_suggest: ok"
