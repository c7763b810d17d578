#!/usr/bin/env bash
# Hostile and malformed requests (bad_requests.tsv, then the limits): each gets the right 4xx with Key Vault's error
# body and one audit record, never a crash; the server answers a good request afterwards. Requests over the body or
# header size limit are refused by libevent before azkmd's pipeline runs (413 / 400, no audit record: docs/server.md).
. "$(dirname "$0")/lib.sh"

write_config "max_body_size = 8192" "max_headers = 32" "timeout = 2"
start_azkmd
call POST "/keys/signer/create?api-version=$API" '{"kty":"RSA"}'
expect 200
call POST "/keys/verifier/create?api-version=$API" '{"kty":"RSA","key_ops":["verify"]}'
expect 200

n=0
while IFS=$'\t' read -r name method host path body status code; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    CURL_EXTRA=(--path-as-is)
    [ "$host" != - ] && CURL_EXTRA+=(-H "Host: $host")
    [ "$body" = - ] && body=
    call "$method" "$path" "$body"
    [ "$STATUS" = "$status" ] || fail "$name: expected HTTP $status, got $STATUS"
    [ "$(field .error.code)" = "$code" ] || fail "$name: expected error code $code, got $(field .error.code)"
    [ -n "$(field .error.message)" ] || fail "$name: no error message"
    [ "$(audit_last | jq -r .httpStatusCode)" = "$status" ] || fail "$name: no audit record with status $status"
    [ "$(audit_last | jq -r .resultType)" = Failure ] || fail "$name: audit resultType"
    kill -0 "$AZKMD_PID" || fail "$name: azkmd died"
    n=$((n + 1))
done <"$HERE/bad_requests.tsv"
CURL_EXTRA=()
step "$n requests from bad_requests.tsv answered as expected, each audited"
[ "$n" -ge 30 ] || fail "only $n rows read"

step "no token_signing_key: a bearer token is 401 (even from root's socket), the token endpoint is not served"
CURL_EXTRA=(-H "Authorization: Bearer e30.e30.AAAA")
call GET "/keys?api-version=$API"
CURL_EXTRA=()
expect 401 Unauthorized
field .error.message | grep -qF "no token_signing_key configured" || fail "bearer without issuer: message"
[ "$(audit_last | jq -r .httpStatusCode)" = 401 ] || fail "bearer without issuer: not audited"
call POST "/azkm/oauth2/v2.0/token" ""
expect 404 NotFound

step "too many header lines: 431, audited"
hdrs=()
for i in $(seq 40); do hdrs+=(-H "x-extra-$i: $i"); done
CURL_EXTRA=("${hdrs[@]}")
call GET "/keys?api-version=$API"
CURL_EXTRA=()
expect 431 BadParameter
[ "$(audit_last | jq -r .httpStatusCode)" = 431 ] || fail "431 not audited"

step "a body over max_body_size: 413 from libevent, and the server goes on"
head -c 20000 /dev/zero | tr '\0' 'a' >"$T/big"
STATUS=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary @"$T/big" \
    "http://$VAULT.$DOMAIN/keys/k/create?api-version=$API") || true
[ "$STATUS" = 413 ] || fail "huge body: HTTP $STATUS"

step "a client that sends half a request is disconnected after the timeout (2 s)"
python3 - "$SOCK" <<'PY' || fail "slow client kept its connection"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /keys?api-version=7.6 HTTP/1.1\r\nHost: web.vault.azkm.localhost\r\n")
s.settimeout(8)
t = time.time()
while s.recv(4096):
    pass
sys.exit(0 if time.time() - t < 6 else 1)
PY

step "still serving"
call GET "/keys/signer?api-version=$API"
expect 200
echo "PASS"
