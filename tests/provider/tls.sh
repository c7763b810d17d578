#!/usr/bin/env bash
# TLS with openssl s_server holding an azkm key and openssl s_client (default provider alone) verifying the chain
# against a test CA. Usage: tls.sh <key: rsa1|ec1|ed1|ed448> <uri|ref> <expected protocol> <s_client args...>
. "$(dirname "$0")/lib.sh"

key=$1 source=$2 proto=$3
shift 3
make_ca
issue_cert "azkm://vault1/keys/$key" server.crt
if [ "$source" = ref ]; then
    openssl pkey -in "azkm://vault1/keys/$key" -out server.key # PEM output of an azkm key is a reference file
    grep -q "BEGIN AZKM KEY REFERENCE" server.key || fail "no reference file"
    server_key=server.key
else
    server_key="azkm://vault1/keys/$key"
fi

openssl s_server -accept 127.0.0.1:0 -naccept 1 -key "$server_key" -cert server.crt -www >server.log 2>&1 &
server=$!
# Up to 60 s for s_server to listen and 120 s for the handshake: scripts/valgrind.sh runs both under memcheck,
# which makes each start take seconds. Passing runs do not wait longer for it.
port=
for _ in $(seq 600); do
    port=$(grep -o 'ACCEPT 127.0.0.1:[0-9]*' server.log | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || fail "s_server did not start: $(cat server.log)"

out=$(printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=/dev/null timeout 120 openssl s_client \
    -connect "127.0.0.1:$port" -servername localhost -verify_hostname localhost -CAfile ca.crt \
    -verify_return_error -ign_eof "$@" 2>&1) || fail "s_client failed: $out / server: $(cat server.log)"
grep -q "Verify return code: 0 (ok)" <<<"$out" || fail "chain not verified: $out"
grep -Eq "Protocol *: *$proto|New, $proto" <<<"$out" || fail "not $proto: $out"
grep -q "HTTP/1.0 200 ok" <<<"$out" || fail "no HTTP answer: $out"
grep -E "Peer signature type|Cipher is|Server Temp Key" <<<"$out" | sort -u
# s_server ends by itself after its one connection (-naccept 1), freeing what it holds (the provider's keys and
# vaults) on the way out: waited for, as long as the handshake may take, and required to succeed. Under
# scripts/valgrind.sh its exit takes seconds; the cleanup's kill would cut its OPENSSL_cleanup short.
for _ in $(seq 1200); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$server" 2>/dev/null && fail "s_server still running after its one connection: $(cat server.log)"
wait "$server" || fail "s_server exited with status $?: $(cat server.log)"
echo "PASS"
