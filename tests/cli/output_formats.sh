#!/usr/bin/env bash
# --output (-o): json, jsonc (plain json when stdout is not a terminal, coloured on one), tsv (values only, one line
# per list item), none (nothing on stdout, same exit code), table; anything else is a usage error naming them.
. "$(dirname "$0")/lib.sh"

step "formats"
ok azkm vault create --name fmtv >/dev/null
ok azkm key create --vault-name fmtv --name k1 --kty EC >/dev/null
ok azkm key create --vault-name fmtv --name k2 --kty EC >/dev/null
json=$(ok azkm key list --vault-name fmtv -o json)
[ "$(jq length <<<"$json")" = 2 ] || fail "json: two keys expected"
jsonc=$(ok azkm key list --vault-name fmtv -o jsonc)
[ "$jsonc" = "$json" ] || fail "jsonc not on a terminal must be plain json"
tsv=$(ok azkm key list --vault-name fmtv -o tsv)
[ "$(wc -l <<<"$tsv")" = 2 ] || fail "tsv: one line per key expected: $tsv"
first=$(head -n 1 <<<"$tsv" | cut -f 1,2)
[ "$first" = "$(jq -r '.[0] | "\(.kid)\t\(.name)"' <<<"$json")" ] || fail "tsv fields: '$first'"
one=$(ok azkm key show --vault-name fmtv --name k1 -o tsv)
[ "$(wc -l <<<"$one")" = 1 ] || fail "tsv of one key: one line"
none=$(ok azkm key create --vault-name fmtv --name k3 --kty EC -o none)
[ -z "$none" ] || fail "-o none printed '$none'"
ok azkm key show --vault-name fmtv --name k3 >/dev/null
table=$(ok azkm key list --vault-name fmtv -o table)
expect_match "$table" "^NAME" "table has its header"
should_fail 2 "--output: must be json, jsonc, table, tsv or none \(got 'yaml'\)" azkm key list --vault-name fmtv -o yaml
if command -v script >/dev/null; then
    coloured=$(script -qc "$AZKM key list --vault-name fmtv -o jsonc" /dev/null)
    [[ $coloured == *$'\033[34m"name"'* ]] || fail "jsonc on a terminal is not coloured"
fi
echo "output_formats: ok"
