#!/usr/bin/env bash
# A remote vault when things go wrong: bad entries refused by `azkm vault connect` naming the field; a missing socket
# and a stopped azkmd fail fast naming the vault, the URL and what failed; one process keeps its loaded key across
# an azkmd restart and works again without reopening; the first URL dead, the second serves; a wrong vault name on
# the server is azkmd's own error; a server answering garbage, an error page or nothing is named as such.
. "$(dirname "$0")/lib.sh"
: "${REMOTE_DRIVER:?REMOTE_DRIVER must name the remote_driver program}"

write_config
start_azkmd
server_keys

step "connect refuses bad entries, naming the field"
should_fail "URL 'http://x' is neither unix:/path/to/azkmd.sock nor https://host:port" client vault connect \
    --name bad1 --url http://x
should_fail "socket path must be absolute" client vault connect --name bad1 --url unix:relative.sock
should_fail "at most 8 URLs" client vault connect --name bad1 --url $(for i in $(seq 9); do echo unix:/s$i; done)
should_fail "a socket path is at most 107 bytes" client vault connect --name bad1 --url "unix:/$(printf 'x%.0s' $(seq 120))"
should_fail "vault name on the server 'no_such' is invalid" client vault connect --name bad1 --url unix:/s \
    --remote-vault no_such
should_fail "domain 'bad domain' is not a DNS name" client vault connect --name bad1 --url unix:/s --domain "bad domain"
should_fail "vault name '1bad' is invalid" client vault connect --name 1bad --url unix:/s
should_fail "connect-timeout-ms" client vault connect --name bad1 --url unix:/s --connect-timeout-ms 5
[ ! -e "$CLIENT/bad1" ] || fail "a refused entry was left behind"
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"
should_fail "vault web already exists" client vault connect --name web --url "unix:$SOCK"
echo '{"urls":["unix:relative"],"vault":"web","domain":"vault.azkm.localhost"}' >"$CLIENT/web/remote.json"
should_fail "remote vault web: URL 'unix:relative': the socket path must be absolute" client key show \
    --vault-name web --name web-ec
echo 'not json' >"$CLIENT/web/remote.json"
should_fail "remote vault web: .*remote.json is not a JSON object" client key show --vault-name web --name web-ec
client vault delete --name web && client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "reconnect"

step "a missing socket fails fast, naming the vault, the URL and what failed"
client vault connect --name gone --remote-vault web --url "unix:$T/missing.sock" >/dev/null
start=$(date +%s%N)
should_fail "remote vault gone: azkmd at unix:$T/missing.sock: GET /keys/web-ec/: cannot connect" \
    client key show --vault-name gone --name web-ec
[ $(($(date +%s%N) - start)) -lt 2000000000 ] || fail "not fast"

step "a wrong vault name on the server: azkmd's answer, with its status and error code"
client vault connect --name other --remote-vault nosuch --url "unix:$SOCK" >/dev/null
should_fail "remote vault other: azkmd at unix:$SOCK: GET /keys/web-ec/ answered 404 [A-Za-z]+: .*nosuch" \
    client key show --vault-name other --name web-ec

step "failover: the first URL dead, the second serves"
client vault connect --name two --remote-vault web --url "unix:$T/dead.sock" "unix:$SOCK" >/dev/null
client key show --vault-name two --name web-rsa --output json >"$T/k.json" || fail "failover show"
with_provider openssl dgst -sha256 -sign azkm://two/keys/web-ec -out "$T/two.sig" "$T/k.json" || fail "failover sign"
openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/two.sig" "$T/k.json" >/dev/null || fail "verify"

step "azkmd stopped: a loaded key fails fast with a clear error; restarted: it works again without reopening"
coproc DRV { "$REMOTE_DRIVER" "$CLIENT" azkm://web/keys/web-ec; }
send() {
    echo "$1" >&"${DRV[1]}"
    read -r -t 60 REPLY <&"${DRV[0]}" || fail "the driver did not answer '$1'"
}
read -r -t 30 REPLY <&"${DRV[0]}" && [ "$REPLY" = loaded ] || fail "driver: $REPLY"
send sign
[[ "$REPLY" == ok* ]] || fail "sign: $REPLY"
stop_azkmd
send sign
[[ "$REPLY" =~ ^error\ ([0-9]+)\ (.*)$ ]] || fail "sign with azkmd stopped: $REPLY"
[ "${BASH_REMATCH[1]}" -lt 1000 ] || fail "not fast: $REPLY"
[[ "${BASH_REMATCH[2]}" =~ remote\ vault\ web:\ azkmd\ at\ unix:$SOCK:\ POST\ /keys/web-ec/[0-9a-f]{32}/sign:\ cannot\ connect ]] ||
    fail "message: $REPLY"
start_azkmd
send sign
[[ "$REPLY" == ok* ]] || fail "sign after the restart: $REPLY"
# A restart between two calls leaves the pooled connection closed under the client: retried on a fresh one.
stop_azkmd
start_azkmd
send sign
[[ "$REPLY" == ok* ]] || fail "sign on a connection azkmd closed: $REPLY"

step "fork and threads: the child signs on its own connections, the parent keeps its own"
send fork
[ "$REPLY" = ok ] || fail "fork: $REPLY"
send sign
[[ "$REPLY" == ok* ]] || fail "sign after fork: $REPLY"
step "refresh: attributes changed on the server reach a loaded key"
"$AZKM" key set-attributes --vault-name web --name web-ec --enabled false >/dev/null || fail "disable on the server"
send sign
[[ "$REPLY" =~ ^error\ [0-9]+\ .*answered\ 403 ]] || fail "azkmd should refuse a disabled key: $REPLY"
send refresh
[ "$REPLY" = "ok enabled=0" ] || fail "refresh: $REPLY"
send sign
[[ "$REPLY" =~ ^error\ [0-9]+\ key\ azkm://web/keys/web-ec/[0-9a-f]{32}\ is\ disabled$ ]] ||
    fail "a refreshed disabled key should be refused here: $REPLY"
"$AZKM" key set-attributes --vault-name web --name web-ec --enabled true >/dev/null || fail "enable on the server"
send refresh
[ "$REPLY" = "ok enabled=1" ] || fail "refresh: $REPLY"
send sign
[[ "$REPLY" == ok* ]] || fail "sign after re-enabling: $REPLY"
drv=$DRV_PID
echo quit >&"${DRV[1]}"
wait "$drv" || fail "the driver exited with an error"

step "a server that is not azkmd: garbage, an error page, a closed connection, no answer"
for mode in text html500 close hang; do
    rm -f "$T/junk.sock"
    : >"$T/junk.log" # not the previous server's "ready": the job's own redirection may come later
    python3 "$REMOTE_DIR/garbage_server.py" "$T/junk.sock" $mode >"$T/junk.log" 2>&1 &
    junk=$!
    # "ready" comes after listen(): the socket file exists from bind() on, refusing connections until then.
    for _ in $(seq 300); do grep -q '^ready$' "$T/junk.log" && break; sleep 0.1; done
    grep -q '^ready$' "$T/junk.log" || fail "garbage_server.py $mode did not start: $(cat "$T/junk.log")"
    client vault delete --name junk >/dev/null 2>&1 || true
    client vault connect --name junk --remote-vault web --url "unix:$T/junk.sock" --timeout-ms 1000 >/dev/null
    case $mode in
    text) re="answered 200 with a body that is not a JSON object" ;;
    html500) re="answered 500 without a Key Vault error body" ;;
    close) re="the exchange failed" ;;
    hang) re="timed out" ;;
    esac
    should_fail "remote vault junk: azkmd at unix:$T/junk.sock: GET /keys/web-ec/: $re|GET /keys/web-ec/ $re" \
        client key show --vault-name junk --name web-ec
    kill $junk
    wait $junk 2>/dev/null || true
done
step "back-off: a first URL that timed out is tried last for a while"
rm -f "$T/junk.sock"
: >"$T/junk.log"
python3 "$REMOTE_DIR/garbage_server.py" "$T/junk.sock" hang >"$T/junk.log" 2>&1 &
junk=$!
for _ in $(seq 300); do grep -q '^ready$' "$T/junk.log" && break; sleep 0.1; done
client vault connect --name slow --remote-vault web --url "unix:$T/junk.sock" "unix:$SOCK" --timeout-ms 700 \
    >/dev/null
coproc SLOW { "$REMOTE_DRIVER" "$CLIENT" azkm://slow/keys/web-ec; }
read -r -t 30 REPLY <&"${SLOW[0]}" || fail "driver: no answer"
# loading the key waited for the first URL's timeout, then the second answered
[ "$REPLY" = loaded ] || fail "driver: $REPLY"
echo sign >&"${SLOW[1]}"
read -r -t 30 REPLY <&"${SLOW[0]}" || fail "driver: no answer"
[[ "$REPLY" =~ ^ok\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -lt 500 ] ||
    fail "the URL in back-off was tried first: $REPLY"
drv=$SLOW_PID
echo quit >&"${SLOW[1]}"
wait "$drv" || fail "the driver exited with an error"
kill $junk
wait $junk 2>/dev/null || true

step "a signature longer than the key's never reaches the caller's buffer"
call GET "/keys/web-ec/?api-version=$API"
expect 200
cp "$T/body" "$T/bundle.json"
rm -f "$T/junk.sock"
: >"$T/junk.log"
python3 "$REMOTE_DIR/garbage_server.py" "$T/junk.sock" bigsig "$T/bundle.json" >"$T/junk.log" 2>&1 &
junk=$!
for _ in $(seq 300); do grep -q '^ready$' "$T/junk.log" && break; sleep 0.1; done
should_fail "^azkm: error: Corrupt: key azkm://junk/keys/web-ec/[0-9a-f]{32}: azkmd's signature is 200 bytes, not the key's 64$" \
    client key sign --vault-name junk --name web-ec --algorithm ES256 --data-file "$T/bundle.json"
kill $junk
wait $junk 2>/dev/null || true
echo "PASS"
