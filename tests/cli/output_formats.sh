#!/usr/bin/env bash
# --output (-o): json, jsonc (plain json when stdout is not a terminal, coloured on one), tsv (values only, one line
# per list item), none (nothing on stdout, same exit code), table; anything else is a usage error naming them.
# --maxresults N limits every list command.
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

step "--maxresults on the list commands"
[ "$(ok azkm key list --vault-name fmtv --maxresults 2 -o json | jq length)" = 2 ] || fail "key list --maxresults 2"
[ "$(ok azkm key list --vault-name fmtv --maxresults 100 -o json | jq length)" = 3 ] || fail "--maxresults above n"
ok azkm key rotate --vault-name fmtv --name k1 >/dev/null
[ "$(ok azkm key list-versions --vault-name fmtv --name k1 --maxresults 1 -o tsv | wc -l)" = 1 ] || fail "list-versions"
ok azkm vault create --name fmtw >/dev/null
[ "$(ok azkm vault list --maxresults 1 -o json | jq length)" = 1 ] || fail "vault list --maxresults 1"
ok azkm key delete --vault-name fmtv --name k2 >/dev/null
ok azkm key delete --vault-name fmtv --name k3 >/dev/null
[ "$(ok azkm key list-deleted --vault-name fmtv --maxresults 1 -o json | jq length)" = 1 ] || fail "list-deleted"
should_fail 2 "--maxresults: must be 1-1000000 \(got 0\)" azkm key list --vault-name fmtv --maxresults 0
should_fail 2 "--maxresults" azkm vault list --maxresults many

step "key download --encoding DER: the PEM's SubjectPublicKeyInfo, binary"
ok azkm key download --vault-name fmtv --name k1 --encoding DER --file "$TMP/k1.der"
ok azkm key download --vault-name fmtv --name k1 --file "$TMP/k1.pem"
openssl pkey -pubin -inform DER -in "$TMP/k1.der" -outform PEM | cmp -s - "$TMP/k1.pem" || fail "DER and PEM differ"
ok azkm key download --vault-name fmtv --name k1 --encoding der >"$TMP/k1.stdout.der"
cmp -s "$TMP/k1.der" "$TMP/k1.stdout.der" || fail "DER to stdout differs"
echo "output_formats: ok"
