#!/usr/bin/env bash
# Per-caller rate limits answered as Key Vault throttles: over rate_limit a caller gets 429 Throttled with
# Retry-After (and an audit line), other callers do not, and after waiting Retry-After seconds it is served again. A
# TLS client without credentials is limited by its address. The token endpoint has its own smaller limit per
# client_id and per client address (a Unix peer: its uid), answered in Entra's error shape.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=*.$DOMAIN" \
    -addext "subjectAltName=DNS:*.$DOMAIN,DNS:$DOMAIN" -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null
"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
# Slow rates (once the burst is spent, one request every 5 s, one token request every 20 s) keep the test exact on a
# slow, busy machine: the buckets do not refill while the test makes its few requests.
write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/tls.crt" "tls_key = $T/tls.key" \
    "token_signing_key = issuer/signing" "rate_limit = 0.2 burst=3" "token_rate_limit = 0.05 burst=2"
start_azkmd
tls_port

# retry_after MAX: the Retry-After header of the last response, a whole number of seconds from 1 to MAX.
retry_after() {
    local v
    v=$(grep -i '^retry-after:' "$T/headers" | tr -d '\r' | cut -d' ' -f2)
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] && [ "$v" -le "$1" ] || fail "Retry-After '$v'"
    echo "$v"
}

step "uid 0 over the Unix socket: the burst of 3 passes, then 429 Throttled with Retry-After"
n=0
for i in $(seq 10); do # bounded: the 4th request must be refused
    call GET "/keys?api-version=$API"
    [ "$STATUS" = 429 ] && break
    expect 200
    n=$i
done
[ "$n" = 3 ] || fail "$n requests passed before the 429, expected 3"
expect 429 Throttled
field .error.message | grep -q 'too many requests were received from uid:0' || fail "message: $(cat "$T/body")"
wait=$(retry_after 5)
expect_audit 429 KeyList
[ "$(audit_last | jq -r .resultSignature)" = Throttled ] || fail "audit resultSignature: $(audit_last)"

step "another caller (a TLS client without credentials, by its address) is not throttled by uid 0's bucket"
tls() {
    STATUS=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --resolve "$DOMAIN:$PORT:127.0.0.1" \
        --cacert "$T/tls.crt" -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@") || fail "curl $*"
}
for i in 1 2 3; do
    tls "https://$VAULT.$DOMAIN:$PORT/keys?api-version=$API"
    expect 401 Unauthorized
done
tls "https://$VAULT.$DOMAIN:$PORT/keys?api-version=$API"
expect 429 Throttled
field .error.message | grep -q 'from addr:127.0.0.1' || fail "message: $(cat "$T/body")"
retry_after 5 >/dev/null

step "after Retry-After ($wait s), uid 0 is served again"
sleep "$wait"
call GET "/keys?api-version=$API"
expect 200

step "the token endpoint: per client_id and per address"
app=$("$AZKM" sp create --display-name app-1 -o json 2>/dev/null)
APP=$(jq -r .appId <<<"$app")
SECRET=$(jq -r .password <<<"$app")
OTHER=00000000-0000-0000-0000-000000000001
form() { # form APPID SECRET: a token request's fields as curl arguments
    FORM=(--data-urlencode grant_type=client_credentials --data-urlencode "client_id=$1"
        --data-urlencode "client_secret=$2" --data-urlencode "scope=https://$DOMAIN/.default")
}
token() { # token APPID SECRET: a token request over the Unix socket (uid 0)
    form "$1" "$2"
    CURL_EXTRA=("${FORM[@]}")
    call POST "/azkm/oauth2/v2.0/token"
    CURL_EXTRA=()
}
token "$APP" "$SECRET"
expect 200
token "$APP" wrong-secret
expect 401
token "$APP" "$SECRET"
expect 429
[ "$(field .error)" = temporarily_unavailable ] || fail "token 429 body: $(cat "$T/body")"
field .error_description | grep -q '^AADSTS50196: too many token requests' || fail "$(cat "$T/body")"
retry_after 20 >/dev/null
expect_audit 429 TokenIssue
# uid 0's bucket is empty too: another client_id from it is refused before its secret is looked at
token "$OTHER" "$SECRET"
expect 429
# from another address (TLS, 127.0.0.1) that client_id is checked (and unknown), the spent one still refused
form "$OTHER" "$SECRET"
tls "https://$DOMAIN:$PORT/azkm/oauth2/v2.0/token" "${FORM[@]}"
expect 401
[ "$(field .error)" = invalid_client ] || fail "$(cat "$T/body")"
form "$APP" "$SECRET"
tls "https://$DOMAIN:$PORT/azkm/oauth2/v2.0/token" "${FORM[@]}"
expect 429
stop_azkmd

step "rate_limit = 0: no limit"
write_config "rate_limit = 0"
start_azkmd
for i in $(seq 30); do
    call GET "/keys?api-version=$API"
    expect 200
done
echo "PASS"
