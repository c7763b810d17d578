#!/usr/bin/env bash
# azkm key create --count N: N keys NAME-1..NAME-N zero-padded, in one process, a summary (table or json), progress
# on stderr only when it is a terminal, and a failure part-way stops there, keeping and naming what was made.
# Software keys are committed in batches (one transaction, one fsync, per batch: the audit log shows the commits);
# HSM keys one by one.
. "$(dirname "$0")/lib.sh"

step "50 EC keys in one run"
ok vault_create --name bulkv >/dev/null
out=$(ok azkm key create --vault-name bulkv --name ec --kty $EC --count 50 -o json 2>"$TMP/bulk.err")
[ "$(jq -r .created <<<"$out")" = 50 ] || fail "created: $out"
[ "$(jq -r .first <<<"$out") $(jq -r .last <<<"$out")" = "ec-01 ec-50" ] || fail "names: $out"
[ ! -s "$TMP/bulk.err" ] || fail "progress written to a non-terminal stderr: $(cat "$TMP/bulk.err")"
[ "$(ok azkm key list --vault-name bulkv -o json | jq '[.[] | select(.kty == "'$EC'")] | length')" = 50 ] || fail "list"
ok azkm key show --vault-name bulkv --name ec-07 >/dev/null

step "a failure part-way keeps the keys made and says how many"
ok azkm key create --vault-name bulkv --name oc-3 --kty $OCT >/dev/null
should_fail 5 "Conflict: .*oc-3" azkm key create --vault-name bulkv --name oc --kty $OCT --count 5
grep -q "2 of 5 keys were created before the failure (oc-1 ... oc-2)" "$TMP/sf.err" || fail "no count of what was made"
ok azkm key show --vault-name bulkv --name oc-2 >/dev/null
should_fail 2 "--count: must be 1-1000000" azkm key create --vault-name bulkv --name x --count 0

step "progress on a terminal"
if command -v script >/dev/null; then
    tty_out=$(script -qc "$AZKM key create --vault-name bulkv --name tt --kty $EC --count 20" /dev/null)
    [[ $tty_out == *"created 20/20 keys"* ]] || fail "no progress on a terminal: $tty_out"
fi

step "software keys are committed in batches, HSM keys one by one"
export AZKM_AUDIT_LOG=$TMP/audit.jsonl
n=1500
hsm_tier && n=20 # SoftHSM writes a file per key
ok azkm key create --vault-name bulkv --name many --kty $EC --count $n -o none
ops() { jq -r .operationName "$AZKM_AUDIT_LOG" | grep -c "^$1\$" || true; }
[ "$(ops KeyCreate)" = $n ] || fail "$(ops KeyCreate) KeyCreate records for $n keys"
if hsm_tier; then
    [ "$(ops KeyBatchCommit)" = 0 ] || fail "HSM keys were made in batches ($(ops KeyBatchCommit) commits)"
else
    # at most 1000 keys or 0.2 s per batch: 2 or more commits, far fewer than keys
    c=$(ops KeyBatchCommit)
    [ "$c" -ge 2 ] && [ "$c" -le 150 ] && [ "$(ops KeyBatchBegin)" = "$c" ] || fail "$c batch commits for $n keys"
fi
[ "$(ok azkm key list --vault-name bulkv -o json | jq '[.[] | select(.name | startswith("many-"))] | length')" = $n ] \
    || fail "not all $n keys are there"
unset AZKM_AUDIT_LOG
echo "key_create_bulk: ok"
