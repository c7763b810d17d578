#!/usr/bin/env bash
# openssl storeutl on azkm: URIs: one private key per URI; -pubkey and -certs honour the expected type.
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
echo "PASS"
