#!/usr/bin/env bash
# azkm key create --count N: N keys NAME-1..NAME-N zero-padded, in one process, a summary (table or json), progress
# on stderr only when it is a terminal, and a failure part-way stops there, keeping and naming what was made.
. "$(dirname "$0")/lib.sh"

step "50 EC keys in one run"
ok azkm vault create --name bulkv >/dev/null
out=$(ok azkm key create --vault-name bulkv --name ec --kty EC --count 50 -o json 2>"$TMP/bulk.err")
[ "$(jq -r .created <<<"$out")" = 50 ] || fail "created: $out"
[ "$(jq -r .first <<<"$out") $(jq -r .last <<<"$out")" = "ec-01 ec-50" ] || fail "names: $out"
[ ! -s "$TMP/bulk.err" ] || fail "progress written to a non-terminal stderr: $(cat "$TMP/bulk.err")"
[ "$(ok azkm key list --vault-name bulkv -o json | jq '[.[] | select(.kty == "EC")] | length')" = 50 ] || fail "list"
ok azkm key show --vault-name bulkv --name ec-07 >/dev/null

step "a failure part-way keeps the keys made and says how many"
ok azkm key create --vault-name bulkv --name oc-3 --kty oct >/dev/null
should_fail 5 "Conflict: .*oc-3" azkm key create --vault-name bulkv --name oc --kty oct --count 5
grep -q "2 of 5 keys were created before the failure (oc-1 ... oc-2)" "$TMP/sf.err" || fail "no count of what was made"
ok azkm key show --vault-name bulkv --name oc-2 >/dev/null
should_fail 2 "--count: must be 1-1000000" azkm key create --vault-name bulkv --name x --count 0

step "progress on a terminal"
if command -v script >/dev/null; then
    tty_out=$(script -qc "$AZKM key create --vault-name bulkv --name tt --kty EC --count 20" /dev/null)
    [[ $tty_out == *"created 20/20 keys"* ]] || fail "no progress on a terminal: $tty_out"
fi
echo "key_create_bulk: ok"
