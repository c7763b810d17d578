#!/usr/bin/env bash
# `openssl list` shows the azkm provider with name, version and status, and its algorithms.
. "$(dirname "$0")/lib.sh"

out=$(openssl list -providers -verbose)
grep -A4 "^  azkm" <<<"$out" | grep -q "name: azkm" || fail "$out"
grep -A4 "^  azkm" <<<"$out" | grep -q "version: 0.1.0" || fail "$out"
grep -A6 "^  azkm" <<<"$out" | grep -q "status: active" || fail "$out"
openssl list -store-loaders | grep -q "azkm" || fail "no azkm store loader"
openssl list -signature-algorithms | grep -q "ECDSA @ azkm" || fail "no ECDSA @ azkm"
openssl list -key-managers | grep -q "@ azkm" || fail "no azkm key managers"
# -provider azkm alone activates it too.
OPENSSL_CONF=/dev/null openssl list -providers -provider azkm | grep -q "azkm" || fail "-provider azkm"
echo "PASS"
