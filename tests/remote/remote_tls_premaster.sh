#!/usr/bin/env bash
# TLS 1.2 RSA key exchange through a remote vault, at the keystore API (tests/remote/remote_driver.c): a premaster
# decrypted in the TLS padding mode travels as decrypt with azkm_tls_premaster and comes back; a server that
# ignores the extension (an azkmd without it, played by garbage_server.py: it would answer a bad padding with an
# error, a padding oracle) is refused on every answer, a good premaster's too. The handshakes are in
# remote_tls_server.sh and remote_nginx_azkmd.sh; azkmd's side in tests/server/tls_premaster.sh.
. "$(dirname "$0")/lib.sh"
: "${REMOTE_DRIVER:?REMOTE_DRIVER must name the remote_driver program}"

write_config
start_azkmd
server_keys
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"

# premaster URI: one premaster round trip in a driver holding the key; REPLY is its answer.
premaster() {
    REPLY=$(printf 'premaster\nquit\n' | "$REMOTE_DRIVER" "$CLIENT" "$1" | tail -n 1)
}

step "a premaster decrypted by azkmd in TLS premaster mode comes back"
premaster azkm://web/keys/web-rsa
[ "$REPLY" = ok ] || fail "premaster through azkmd: $REPLY"
rec=$(audit_last)
[ "$(jq -r '.operationName + " " + (.httpStatusCode | tostring)' <<<"$rec")" = "KeyDecrypt 200" ] ||
    fail "audit: $rec"

step "a server that ignores azkm_tls_premaster is refused, even for a good premaster"
call GET "/keys/web-rsa/?api-version=$API"
expect 200
cp "$T/body" "$T/bundle.json"
python3 "$REMOTE_DIR/garbage_server.py" "$T/old.sock" plain48 "$T/bundle.json" >"$T/old.log" 2>&1 &
old=$!
for _ in $(seq 300); do grep -q '^ready$' "$T/old.log" && break; sleep 0.1; done
grep -q '^ready$' "$T/old.log" || fail "garbage_server.py did not start: $(cat "$T/old.log")"
client vault connect --name old --remote-vault web --url "unix:$T/old.sock" >/dev/null || fail "connect old"
premaster azkm://old/keys/web-rsa
[[ "$REPLY" == "error "*"remote vault old: azkmd did not decrypt in TLS premaster mode"* ]] ||
    fail "an answer without azkm_tls_premaster was taken: $REPLY"
kill $old
wait $old 2>/dev/null || true
echo "PASS"
