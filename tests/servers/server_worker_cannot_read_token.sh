#!/usr/bin/env bash
# HSM tier, a token store only root can read: the master (root) loads the keys, so the server starts; each worker
# re-initialises the PKCS#11 module after fork as www-data, cannot read the token, and refuses its handshakes.
# Nothing at startup can see this (the master does not know it will fail as another user), so the test pins down
# what the administrator sees: a failed handshake and an error log line naming the worker's uid and the token
# store, not an opaque "invalid handle". Usage: server_worker_cannot_read_token.sh <nginx|apache>
. "$(dirname "$0")/lib.sh"
server=$1

setup_machine hsm
step "the token store belongs to root only (SoftHSM's own default: 0700/0600)"
chown -R root "$T/softhsm/tokens"
chmod -R go-rwx "$T/softhsm/tokens"
start_server "$server" || fail "$server did not start: $(cat "$T/logs/start.err")"

step "handshakes fail in the workers"
tls_s_client web-ec -tls1_3 >"$T/hs.out" && fail "a handshake succeeded with an unreadable token store"
tls_curl web-rsa --tlsv1.2 --tls-max 1.2 "https://localhost:$PORT/" >/dev/null 2>&1 &&
    fail "a TLS 1.2 handshake succeeded with an unreadable token store"

step "the error log names the uid and the token store"
uid=$(id -u "$WORKER_USER")
for _ in $(seq 50); do
    grep -q "uid $uid.*token store" "$T/logs/error.log" && break
    sleep 0.1
done
grep -E "uid $uid.*token store" "$T/logs/error.log" | head -2 | cut -c1-400
grep -q -E "azkm.*uid $uid.*token store" "$T/logs/error.log" ||
    fail "no azkm error naming uid $uid and the token store: $(cat "$T/logs/error.log")"

step "made readable by $WORKER_USER, a restart serves again"
stop_server
grant_token_store
start_server "$server" || fail "$server did not start: $(cat "$T/logs/start.err")"
out=$(tls_s_client web-ec -tls1_3) || fail "handshake after the fix: $out"
grep -q "keyless TLS by azkm" <<<"$out" || fail "no page after the fix: $out"
echo "PASS"
