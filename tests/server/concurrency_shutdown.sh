#!/usr/bin/env bash
# Worker threads under parallel load (every request answered in full, one audit record each, signatures valid), and
# SIGTERM while a request is half sent: the request finishes with a complete response, new connections are refused,
# azkmd exits 0.
. "$(dirname "$0")/lib.sh"

write_config "shutdown_grace = 3"
sed -i 's/^threads = .*/threads = 4/' "$T/azkmd.conf"
start_azkmd
call POST "/keys/par/create?api-version=$API" '{"kty":"EC"}'
expect 200
jwk_to_pem "$T/par.pem"
digest=$(printf data | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
before=$(audit_count)

step "200 sign requests from 8 clients at once"
export SOCK DOMAIN API digest T
seq 200 | xargs -P 8 -I{} sh -c 'curl -sS --max-time 20 --unix-socket "$SOCK" -o "$T/par.{}" -w "%{http_code}\n" \
    -X POST -H "Content-Type: application/json" -d "{\"alg\":\"ES256\",\"value\":\"$digest\"}" \
    "http://web.$DOMAIN/keys/par//sign?api-version=$API"' >"$T/codes"
[ "$(sort "$T/codes" | uniq -c | tr -s ' ')" = " 200 200" ] || fail "statuses: $(sort "$T/codes" | uniq -c)"
for i in 1 57 200; do
    jq -r .value "$T/par.$i" >"$T/v"
    b64url_decode "$(cat "$T/v")" "$T/raw.$i"
    raw_to_der "$T/raw.$i" "$T/der.$i"
    printf data | openssl dgst -sha256 -verify "$T/par.pem" -signature "$T/der.$i" >/dev/null || fail "signature $i"
done
[ "$(($(audit_count) - before))" = 200 ] || fail "$(($(audit_count) - before)) audit records for 200 requests"

step "SIGTERM with a request half sent: it completes, then azkmd exits"
python3 - "$SOCK" "$AZKMD_PID" "$DOMAIN" <<'PY' || fail "in-flight request"
import json, os, signal, socket, sys, time
sock, pid, domain = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(("GET /keys/par?api-version=7.6 HTTP/1.1\r\nHost: web.%s\r\n" % domain).encode())
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
try:
    socket.socket(socket.AF_UNIX).connect(sock)
    sys.exit("a new connection was accepted after SIGTERM")
except OSError:
    pass
s.sendall(b"Connection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200"), head[:100]
assert json.loads(body)["key"]["kty"] == "EC"
PY
wait "$AZKMD_PID" || fail "azkmd exited $?"
AZKMD_PID=
grep -q '^azkmd: stopped' "$T/azkmd.log" || fail "no stop message"
echo "PASS"
