#!/usr/bin/env bash
# openssl storeutl on azkm: URIs: one private key per key URI; a vault URI (azkm://vault1, azkm://vault1/keys)
# lists every current key; -keys, -certs and -alias (the key name) are honoured, -text shows each key's URI.
. "$(dirname "$0")/lib.sh"

out=$(openssl storeutl azkm://vault1/keys/rsa1)
grep -q "0: Pkey" <<<"$out" || fail "storeutl: no private key: $out"
grep -q "Total found: 1" <<<"$out" || fail "storeutl: not exactly one object"
grep -q "BEGIN PRIVATE KEY" <<<"$out" && fail "storeutl printed private key material"
out=$(openssl storeutl -keys azkm://vault1/keys/ec1)
grep -q "Total found: 1" <<<"$out" || fail "storeutl -keys: $out"
out=$(openssl storeutl -certs azkm://vault1/keys/ec1)
grep -q "Total found: 0" <<<"$out" || fail "storeutl -certs found something: $out"
out=$(openssl storeutl -noout -text azkm://vault1/keys/ec1 2>&1 || true)
echo "$out" | head -5

# ---- the vault's keys
expected=$(printf '%s\n' ec-expired ec1 ec384 ecdh1 ecdh384 ed1 ed448 rot rsa-nodecrypt rsa-nosign rsa-off rsa1)
for uri in azkm://vault1 azkm://vault1/keys azkm://vault1/keys/; do
    out=$(openssl storeutl -keys -text -noout "$uri") || fail "storeutl -keys $uri: $out"
    grep -q "Total found: 12" <<<"$out" || fail "storeutl -keys $uri did not list the 12 keys: $out"
    listed=$(grep -o 'azkm private key azkm://vault1/keys/[^/]*/[0-9a-f]\{32\}' <<<"$out" | cut -d/ -f5 | sort)
    [ "$listed" = "$expected" ] || fail "storeutl -keys $uri listed: $listed"
done
# each listed key in its current version
grep -q "azkm://vault1/keys/rot/$(version_of rot-current)" <<<"$out" || fail "rot is not listed in its current version"
# PEM output: one key reference per key, each loading its key again
openssl storeutl -keys azkm://vault1 >listed.pem
[ "$(grep -c "BEGIN AZKM KEY REFERENCE" listed.pem)" = 12 ] || fail "not 12 reference PEM blocks: $(cat listed.pem)"
awk '/BEGIN AZKM KEY REFERENCE/ { n++ } n == 2 { print } n == 2 && /END AZKM/ { exit }' listed.pem >second.ref
openssl pkey -in second.ref -pubout -out second.pub
openssl pkey -pubin -in azkm://vault1/keys/ec1 -pubout -out ec1.pub
cmp -s second.pub ec1.pub || fail "the second listed reference is not ec1's: $(cat second.ref)"
# search by name (alias), case-insensitive like key names
out=$(openssl storeutl -keys -alias RSA1 -noout -text azkm://vault1)
grep -q "Total found: 1" <<<"$out" && grep -q "azkm private key azkm://vault1/keys/rsa1/" <<<"$out" ||
    fail "storeutl -alias RSA1: $out"
out=$(openssl storeutl -alias nosuch azkm://vault1)
grep -q "Total found: 0" <<<"$out" || fail "storeutl -alias nosuch: $out"
out=$(openssl storeutl -certs azkm://vault1)
grep -q "Total found: 0" <<<"$out" || fail "storeutl -certs on a vault found something: $out"
# (storeutl itself exits 0 when the error comes with the end of the store, as for a missing key URI)
out=$(openssl storeutl -keys azkm://nosuch 2>&1 || true)
grep -q "cannot list the keys of azkm://nosuch: vault nosuch not found" <<<"$out" || fail "missing vault: $out"
should_fail "expected /keys or /keys/<name> after the vault name" openssl storeutl azkm://vault1/secrets
echo "PASS"
