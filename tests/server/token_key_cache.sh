#!/usr/bin/env bash
# The bearer tokens' verified-key cache (server/auth/token_keys.c): a token keeps working through many requests; a
# signing key version disabled with the CLI stops verifying within the revalidation interval (2 s) and works again
# once enabled; an expiry set in the past refuses it; a rotation leaves the earlier version's tokens valid; a
# deleted signing key verifies nothing within the interval. Each refusal is a 401 naming the cause, audited.
. "$(dirname "$0")/lib.sh"

"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
write_config "token_signing_key = issuer/signing" "token_lifetime = 600"
start_azkmd
REVALIDATE=2

sp=$("$AZKM" sp create --display-name cache-app -o json 2>/dev/null)
APP=$(jq -r .appId <<<"$sp")
"$AZKM" role assignment create --vault-name "$VAULT" --role "Key Vault Reader" --assignee "sp:$APP" --scope / \
    >/dev/null
# token: a fresh access token for the service principal, over the Unix socket.
token() {
    curl -sS --max-time 10 --unix-socket "$SOCK" -d grant_type=client_credentials -d "client_id=$APP" \
        --data-urlencode "client_secret=$(jq -r .password <<<"$sp")" -d "scope=https://$DOMAIN/.default" \
        "http://$DOMAIN/azkm/oauth2/v2.0/token" | jq -r .access_token
}
# with TOKEN: GET /keys with it; STATUS.
with() {
    CURL_EXTRA=(-H "Authorization: Bearer $1")
    call GET "/keys?api-version=$API"
    CURL_EXTRA=()
}
# refused_within TOKEN MESSAGE: 401 naming MESSAGE at the latest REVALIDATE (+ 1 for the clock's second) seconds on.
refused_within() {
    local deadline=$((SECONDS + REVALIDATE + 1))
    while with "$1" && [ "$STATUS" = 200 ]; do
        [ "$SECONDS" -le "$deadline" ] || fail "still accepted $REVALIDATE s after the change"
        sleep 0.2
    done
    expect 401 Unauthorized
    field .error.message | grep -q "$2" || fail "message: $(field .error.message)"
    expect_audit 401 KeyList
}

T1=$(token)
V1=$("$AZKM" key show --vault-name issuer --name signing -o json | jq -r '.key.kid | split("/") | last')
step "many requests with one token (the key read once per interval)"
for _ in $(seq 20); do
    with "$T1"
    expect 200
done

step "disabled with the CLI: refused within $REVALIDATE s; enabled again: accepted"
"$AZKM" key set-attributes --vault-name issuer --name signing --version "$V1" --enabled false >/dev/null
refused_within "$T1" "version is disabled"
"$AZKM" key set-attributes --vault-name issuer --name signing --version "$V1" --enabled true >/dev/null
sleep $((REVALIDATE + 1))
with "$T1"
expect 200

step "an expiry in the past: refused"
"$AZKM" key set-attributes --vault-name issuer --name signing --version "$V1" --expires "$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)" \
    >/dev/null
refused_within "$T1" "version has expired"

step "rotation: the new version signs, the earlier one's tokens keep their own state"
"$AZKM" key rotate --vault-name issuer --name signing >/dev/null
T2=$(token)
with "$T2"
expect 200
with "$T1"
expect 401 Unauthorized

step "the signing key deleted: its tokens verify nothing within $REVALIDATE s"
"$AZKM" key delete --vault-name issuer --name signing >/dev/null
refused_within "$T2" "(kid) is unknown"
echo "PASS"
