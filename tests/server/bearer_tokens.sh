#!/usr/bin/env bash
# azkmd as its own token issuer. A service principal with a client secret gets an ES256 access token from
# /azkm/oauth2/v2.0/token (over TLS and over the Unix socket), checked independently with the JWKS and openssl; a
# wrong secret, grant or scope gets Entra's error shape. With Key Vault Crypto User the token signs and may not
# create (over TLS and over the Unix socket, where the token, not the peer's uid, is the caller). Expired, forged,
# wrong-audience, wrong-issuer, alg none, HS256 and unknown-kid tokens are each refused with 401, the challenge and
# an audit line that never holds the token. The signing key lives in its own vault "issuer".
. "$(dirname "$0")/lib.sh"

ca ca
issue ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN,DNS:$DOMAIN"

"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/server.crt" "tls_key = $T/server.key" \
    "token_signing_key = issuer/signing" "token_lifetime = 600"
start_azkmd
tls_port
AUTHORITY="https://$DOMAIN"
RESOURCE="https://$DOMAIN"
ISSUER="$AUTHORITY/azkm/v2.0"
call POST "/keys/k1/create?api-version=$API" '{"kty":"EC"}'
expect 200

# tls URL [curl args...]: a request over TLS to any host under the domain; STATUS, body in $T/body.
tls() {
    local url=$1
    shift
    STATUS=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --resolve "$DOMAIN:$PORT:127.0.0.1" \
        --cacert "$T/ca.crt" -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$url") || fail "curl $url"
}
# token_request [form fields...]: POST to the token endpoint over TLS.
token_request() {
    local args=()
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    tls "https://$DOMAIN:$PORT/azkm/oauth2/v2.0/token" "${args[@]}"
}
# part N TOKEN: the Nth part (1 header, 2 payload) decoded as JSON.
part() {
    b64url_decode "$(cut -d. -f"$1" <<<"$2")" "$T/part.json"
    jq -c . "$T/part.json"
}
# expect_oauth_error STATUS ERROR: Entra's error shape, and the audit line of a TokenIssue.
expect_oauth_error() {
    expect "$1"
    [ "$(field .error)" = "$2" ] || fail "expected OAuth error $2, got $(cat "$T/body")"
    field .error_description | grep -q '^AADSTS[0-9]*: ' || fail "error_description is not AADSTS..."
    [ "$(field '.error_codes | length')" = 1 ] || fail "error_codes"
    expect_audit "$1" TokenIssue
}

app=$("$AZKM" sp create --display-name app-1 -o json 2>/dev/null)
APP=$(jq -r .appId <<<"$app")
SECRET=$(jq -r .password <<<"$app")
SCOPE="scope=$RESOURCE/.default"

step "OpenID discovery and the JWKS, over TLS"
tls "https://$DOMAIN:$PORT/azkm/v2.0/.well-known/openid-configuration"
expect 200
[ "$(field .issuer)" = "$ISSUER" ] || fail "issuer $(field .issuer)"
[ "$(field .token_endpoint)" = "$AUTHORITY/azkm/oauth2/v2.0/token" ] || fail "token_endpoint"
[ "$(field .jwks_uri)" = "$AUTHORITY/azkm/discovery/v2.0/keys" ] || fail "jwks_uri"
[ "$(field .authorization_endpoint)" = "$AUTHORITY/azkm/oauth2/v2.0/authorize" ] || fail "authorization_endpoint"
tls "https://$DOMAIN:$PORT/azkm/discovery/v2.0/keys"
expect 200
jq '{key: .keys[0]}' "$T/body" >"$T/jwks.json"
cp "$T/jwks.json" "$T/body"
[ "$(field '.key.alg + " " + .key.use + " " + .key.kty')" = "ES256 sig EC" ] || fail "JWKS: $(cat "$T/body")"
KID=$(field .key.kid)
jwk_to_pem "$T/issuer.pem"

step "client credentials: a token for the right secret, its signature checked with the JWKS and openssl"
token_request grant_type=client_credentials "client_id=$APP" "client_secret=$SECRET" "$SCOPE"
expect 200
[ "$(field '.token_type + " " + (.expires_in | tostring)')" = "Bearer 600" ] || fail "token reply $(cat "$T/body")"
TOKEN=$(field .access_token)
expect_audit 200 TokenIssue
[ "$(audit_last | jq -r '.identity.principals[0] + " " + .identity.authenticatedBy')" = "sp:$APP ClientSecret" ] ||
    fail "token audit identity $(audit_last | jq -c .identity)"
[ "$(part 1 "$TOKEN" | jq -r '.alg + " " + .kid')" = "ES256 $KID" ] || fail "header $(part 1 "$TOKEN")"
claims=$(part 2 "$TOKEN")
[ "$(jq -r '[.iss, .aud, .sub, .appid, .tid] | join(" ")' <<<"$claims")" = \
    "$ISSUER $RESOURCE sp:$APP $APP azkm" ] || fail "claims $claims"
[ "$(jq '.exp - .iat' <<<"$claims")" = 600 ] && [ "$(jq '.nbf == .iat' <<<"$claims")" = true ] ||
    fail "times $claims"
printf '%s' "${TOKEN%.*}" >"$T/signed"
b64url_decode "${TOKEN##*.}" "$T/tsig.raw"
raw_to_der "$T/tsig.raw" "$T/tsig.der"
plain dgst -sha256 -verify "$T/issuer.pem" -signature "$T/tsig.der" "$T/signed" >/dev/null ||
    fail "the token's signature does not verify with the JWKS key"

step "client_id in upper case, as Entra ID takes it"
token_request grant_type=client_credentials "client_id=${APP^^}" "client_secret=$SECRET" "$SCOPE"
expect 200
[ "$(part 2 "$(field .access_token)" | jq -r .appid)" = "$APP" ] || fail "appid of an upper-case client_id"

step "the token endpoint over the Unix socket too"
STATUS=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o "$T/body" -D "$T/headers" -w '%{http_code}' \
    --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$APP" \
    --data-urlencode "client_secret=$SECRET" --data-urlencode "$SCOPE" "http://$DOMAIN/azkm/oauth2/v2.0/token")
expect 200
[ "$(field .token_type)" = Bearer ] || fail "Unix socket token reply"

step "refusals: wrong secret, unknown client, wrong grant, wrong scope, client_id not a GUID, not a form"
token_request grant_type=client_credentials "client_id=$APP" "client_secret=${SECRET}x" "$SCOPE"
expect_oauth_error 401 invalid_client
token_request grant_type=client_credentials client_id=00000000-0000-4000-8000-000000000000 \
    "client_secret=$SECRET" "$SCOPE"
expect_oauth_error 401 invalid_client
token_request grant_type=password "client_id=$APP" "client_secret=$SECRET" "$SCOPE"
expect_oauth_error 400 unsupported_grant_type
token_request grant_type=client_credentials "client_id=$APP" "client_secret=$SECRET" "scope=https://other/.default"
expect_oauth_error 400 invalid_scope
token_request grant_type=client_credentials "client_id=app' OR 1" "client_secret=$SECRET" "$SCOPE"
expect_oauth_error 400 invalid_request
tls "https://$DOMAIN:$PORT/azkm/oauth2/v2.0/token" -H 'Content-Type: application/json' --data '{}'
expect_oauth_error 400 invalid_request
grep -qF "$SECRET" "$AZKM_AUDIT_LOG" "$T/azkmd.log" && fail "the client secret is in a log"

step "no credentials over TLS: 401 with Key Vault's challenge naming the authority and the resource"
SIGN='{"alg":"ES256","value":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}'
VURL="https://$VAULT.$DOMAIN:$PORT"
tls "$VURL/keys/k1//sign?api-version=$API" -H 'Content-Type: application/json' --data "$SIGN"
expect 401 Unauthorized
grep -i '^WWW-Authenticate:' "$T/headers" | tr -d '\r' | grep -qxF \
    "WWW-Authenticate: Bearer authorization=\"$AUTHORITY/azkm\", resource=\"$RESOURCE\"" ||
    fail "challenge: $(grep -i '^WWW-Authenticate:' "$T/headers")"

step "Key Vault Crypto User for sp:$APP: the token signs, may not create (TLS and Unix socket)"
"$AZKM" role assignment create --vault-name "$VAULT" --role 'Key Vault Crypto User' --assignee "sp:$APP" \
    --scope / >/dev/null
AUTH="Authorization: Bearer $TOKEN"
tls "$VURL/keys/k1//sign?api-version=$API" -H "$AUTH" -H 'Content-Type: application/json' --data "$SIGN"
expect 200
expect_audit 200 KeySign
[ "$(audit_last | jq -r '.identity.principals[0] + " " + .identity.authenticatedBy')" = "sp:$APP BearerToken" ] ||
    fail "audit identity $(audit_last | jq -c .identity)"
tls "$VURL/keys/k2/create?api-version=$API" -H "$AUTH" -H 'Content-Type: application/json' --data '{"kty":"EC"}'
expect 403 Forbidden
field .error.message | grep -qF "Action: 'Microsoft.KeyVault/vaults/keys/create/action'" || fail "403 message"
CURL_EXTRA=(-H "$AUTH")
call POST "/keys/k1//sign?api-version=$API" "$SIGN"
expect 200
call POST "/keys/k2/create?api-version=$API" '{"kty":"EC"}'
expect 403 Forbidden
CURL_EXTRA=()

# forge HEADER PAYLOAD: a token with these parts, signed with the real signing key through azkmd (root's peer
# credentials, the issuer vault's sign operation): a valid signature over whatever claims a test needs.
forge() {
    local h p
    h=$(printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '=')
    p=$(printf '%s' "$2" | base64 -w0 | tr '+/' '-_' | tr -d '=')
    printf '%s.%s' "$h" "$p" >"$T/forge.in"
    plain dgst -sha256 -binary "$T/forge.in" >"$T/forge.dgst"
    STATUS=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o "$T/forge.out" -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        --data "{\"alg\":\"ES256\",\"value\":\"$(b64url_encode "$T/forge.dgst")\"}" \
        "http://issuer.$DOMAIN/keys/signing//sign?api-version=$API")
    [ "$STATUS" = 200 ] || fail "forge: sign $STATUS"
    printf '%s.%s.%s' "$h" "$p" "$(jq -r .value "$T/forge.out")"
}
NOW=$(date +%s)
HDR="{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"$KID\"}"
# claims [jq filter]: the claims of a good token, changed by the filter.
claims() {
    jq -cn --arg iss "$ISSUER" --arg aud "$RESOURCE" --arg app "$APP" --argjson now "$NOW" \
        "{iss: \$iss, aud: \$aud, sub: (\"sp:\" + \$app), appid: \$app, tid: \"azkm\", iat: \$now, nbf: \$now,
          exp: (\$now + 300)} | ${1:-.}"
}
# refused TOKEN REASON: 401 with the challenge and REASON in the message and the audit line; the token in no log.
refused() {
    tls "$VURL/keys/k1//sign?api-version=$API" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        --data "$SIGN"
    expect 401 Unauthorized
    field .error.message | grep -qF "$2" || fail "401 message '$(field .error.message)' lacks '$2'"
    grep -qi '^WWW-Authenticate: Bearer authorization=' "$T/headers" || fail "no challenge"
    expect_audit 401 KeySign
    audit_last | jq -r .resultDescription | grep -qF "$2" || fail "audit description $(audit_last)"
    [ -z "${1##*.}" ] || ! grep -qF "${1##*.}" "$AZKM_AUDIT_LOG" "$T/azkmd.log" || fail "the token is in a log"
    return 0
}

step "a forged token with good claims is accepted (the forging helper is sound)"
good=$(forge "$HDR" "$(claims)")
tls "$VURL/keys/k1//sign?api-version=$API" -H "Authorization: Bearer $good" -H 'Content-Type: application/json' \
    --data "$SIGN"
expect 200

step "expired, not yet valid, wrong audience, wrong issuer, sub not the appid: 401"
refused "$(forge "$HDR" "$(claims '.exp = $now - 120 | .iat = $now - 900 | .nbf = .iat')")" "it has expired"
refused "$(forge "$HDR" "$(claims '.nbf = $now + 600 | .exp = $now + 900')")" "not valid yet"
refused "$(forge "$HDR" "$(claims '.aud = "https://other.vault.example"')")" "audience"
refused "$(forge "$HDR" "$(claims '.iss = "https://login.microsoftonline.com/azkm/v2.0"')")" "not issued by this server"
refused "$(forge "$HDR" "$(claims '.sub = "sp:00000000-0000-4000-8000-000000000000"')")" "do not name a service principal"

step "forged signature, another key's signature, unknown kid, alg none, HS256 with the public key: 401"
p2=$(printf '%s' "$(claims '.appid = "00000000-0000-4000-8000-000000000000" | .sub = "sp:" + .appid')" |
    base64 -w0 | tr '+/' '-_' | tr -d '=')
refused "$(cut -d. -f1 <<<"$good").$p2.$(cut -d. -f3 <<<"$good")" "signature does not verify"
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
other_in="$(cut -d. -f1-2 <<<"$good")"
printf '%s' "$other_in" | plain dgst -sha256 -sign "$T/other.key" >"$T/other.der"
other_sig=$(plain asn1parse -inform DER -in "$T/other.der" | awk -F: '/INTEGER/ {printf "%64s", $NF}' |
    tr ' ' 0)
hex_to_file "$other_sig" "$T/other.raw"
refused "$other_in.$(b64url_encode "$T/other.raw")" "signature does not verify"
refused "$(forge '{"alg":"ES256","kid":"00000000000000000000000000000000"}' "$(claims)")" "kid"
none_h=$(printf '{"alg":"none"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
refused "$none_h.$(cut -d. -f2 <<<"$good").$(cut -d. -f3 <<<"$good")" "algorithm is not RS256 or ES256"
refused "$none_h.$(cut -d. -f2 <<<"$good")." "a part is empty"
hs_h=$(printf '{"alg":"HS256","kid":"%s"}' "$KID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
hs_sig=$(printf '%s.%s' "$hs_h" "$(cut -d. -f2 <<<"$good")" |
    plain dgst -sha256 -mac HMAC -macopt "key:$(cat "$T/issuer.pem")" -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
refused "$hs_h.$(cut -d. -f2 <<<"$good").$hs_sig" "algorithm is not RS256 or ES256"
refused "not-a-token" "three base64url parts"
tls "$VURL/keys/k1?api-version=$API" -H "Authorization: Basic YTpi"
expect 401 Unauthorized
field .error.message | grep -qF "scheme is not Bearer" || fail "Basic scheme: $(field .error.message)"
expect_audit 401 KeyGet
grep -qF "$TOKEN" "$AZKM_AUDIT_LOG" "$T/azkmd.log" && fail "an access token is in a log"
echo "PASS"
