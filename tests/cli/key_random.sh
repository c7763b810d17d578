#!/usr/bin/env bash
# azkm key random --count N: N random bytes (1-128, Azure's limits), base64; JSON {"value": ...} as Azure.
. "$(dirname "$0")/lib.sh"

step "sizes and formats"
for n in 1 32 128; do
    v=$(ok azkm key random --count $n -o tsv)
    [ "$(base64 -d <<<"$v" | wc -c)" = $n ] || fail "--count $n gave '$v'"
done
a=$(ok azkm key random --count 32 -o json | jq -r .value)
b=$(ok azkm key random --count 32 -o json | jq -r .value)
[ "$a" != "$b" ] || fail "two draws are equal"
expect_match "$(ok azkm key random --count 8)" "^Value +[A-Za-z0-9+/=]{12}$" "table row"
should_fail 2 "--count: must be 1-128 \(got 129\)" azkm key random --count 129
should_fail 2 "--count: must be 1-128 \(got 0\)" azkm key random --count 0
should_fail 2 "--count" azkm key random
# --vault-name: a local vault's generator is this process's; a vault that does not exist is named
ok azkm vault create --name rnd >/dev/null
[ "$(ok azkm key random --count 16 --vault-name rnd -o json | jq -r .value | base64 -d | wc -c)" = 16 ] ||
    fail "--vault-name rnd"
should_fail 3 "nope" azkm key random --count 16 --vault-name nope
echo "key_random: ok"
