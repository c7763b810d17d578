#!/usr/bin/env bash
# Client assertions at azkmd's token endpoint, made with the openssl CLI alone as @azure/identity's
# ClientCertificateCredential makes them: a JWT signed RS256 or PS256 with the key of a certificate registered to a
# service principal (azkm sp create --cert), header x5t#S256 or x5t = its thumbprint, aud = the token endpoint, iss =
# sub = client_id, exp, nbf, jti. The token it gets is the service principal's. Expired, not yet valid, wrong
# audience, wrong iss or sub, unknown thumbprint, signed by another key, alg none and HS256 assertions, a replayed
# jti are each 401 invalid_client with an audit line; a missing, wrong or repeated client_assertion_type and a
# secret with an assertion 400. A renewed certificate replaces the old one. (A registration from before azkm kept
# certificates' public keys: tests/unit/test_identity_legacy.c.)
. "$(dirname "$0")/lib.sh"

"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
write_config "token_signing_key = issuer/signing" "token_lifetime = 600"
start_azkmd
TOKEN_URL="https://$DOMAIN/azkm/oauth2/v2.0/token"
SCOPE="https://$DOMAIN/.default"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=app-cert" -keyout "$T/app.key" -out "$T/app.crt" \
    2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.key" 2>/dev/null
openssl req -x509 -new -key "$T/other.key" -nodes -days 2 -subj "/CN=other" -out "$T/other.crt" 2>/dev/null
APP=$("$AZKM" sp create --display-name cert-app --cert "$T/app.crt" -o json | jq -r .appId)
thumb() { # thumb sha1|sha256 CERT: base64url of the certificate's DER digest
    openssl x509 -in "$2" -outform DER | openssl dgst -"$1" -binary >"$T/tp.bin"
    b64url_encode "$T/tp.bin"
}
S256=$(thumb sha256 "$T/app.crt")
SHA1=$(thumb sha1 "$T/app.crt")
b64json() {
    printf '%s' "$1" >"$T/part.json"
    b64url_encode "$T/part.json"
}

# assertion [jq assignments over defaults...]: a signed assertion on stdout. Fields: alg, tpname, tp, aud, iss, sub,
# exp, nbf, jti, key (the signing key file).
N=0
assertion() {
    N=$((N + 1))
    local now spec
    now=$(date +%s)
    spec=$(jq -c -n --arg app "$APP" --arg aud "$TOKEN_URL" --arg tp "$S256" --arg key "$T/app.key" \
        --argjson now "$now" --arg jti "jti-$N-$RANDOM" \
        "{alg:\"RS256\",tpname:\"x5t#S256\",tp:\$tp,aud:\$aud,iss:\$app,sub:\$app,exp:(\$now+600),nbf:(\$now-5),
          jti:\$jti,key:\$key} | ${1:-.}")
    local h c alg key
    alg=$(jq -r .alg <<<"$spec")
    key=$(jq -r .key <<<"$spec")
    h=$(b64json "$(jq -c '{alg, typ: "JWT"} + {(.tpname): .tp}' <<<"$spec")")
    c=$(b64json "$(jq -c '{aud, iss, sub, exp, nbf, jti}' <<<"$spec")")
    printf '%s.%s' "$h" "$c" >"$T/input"
    case "$alg" in
    RS256) openssl dgst -sha256 -sign "$key" -out "$T/sig" "$T/input" ;;
    PS256) openssl dgst -sha256 -sign "$key" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
        -out "$T/sig" "$T/input" ;;
    HS256) openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$T/app.crt")" -binary -out "$T/sig" "$T/input" ;;
    none) openssl dgst -sha256 -sign "$key" -out "$T/sig" "$T/input" ;; # a signature, but alg none
    esac
    printf '%s.%s.%s' "$h" "$c" "$(b64url_encode "$T/sig")"
}
# token_with ASSERTION [extra form fields...]: POST to the token endpoint over the Unix socket.
token_with() {
    local a=$1
    shift
    local args=(--data-urlencode grant_type=client_credentials --data-urlencode "client_id=$APP"
        --data-urlencode "scope=$SCOPE" --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
        --data-urlencode "client_assertion=$a")
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    STATUS=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o "$T/body" -D "$T/headers" -w '%{http_code}' \
        "${args[@]}" "http://$DOMAIN/azkm/oauth2/v2.0/token") || fail "curl token"
}
refused() { # refused JQ_CHANGE MESSAGE_PART: 401 invalid_client naming the check, audited
    token_with "$(assertion "$1")"
    expect 401
    [ "$(field .error)" = invalid_client ] || fail "$1: $(cat "$T/body")"
    field .error_description | grep -q "$2" || fail "$1: $(field .error_description)"
    expect_audit 401 TokenIssue
    [ "$(audit_last | jq -r .identity.authenticatedBy)" = ClientAssertion ] || fail "audit: $(audit_last)"
}

step "RS256 with x5t#S256: a token for sp:<appId> that reads keys with a role"
token_with "$(assertion)"
expect 200
TOKEN=$(field .access_token)
expect_audit 200 TokenIssue
[ "$(audit_last | jq -c '[.identity.authenticatedBy, .identity.principals[0]]')" = "[\"ClientAssertion\",\"sp:$APP\"]" ] ||
    fail "audit: $(audit_last)"
b64url_decode "$(cut -d. -f2 <<<"$TOKEN")" "$T/claims.json"
[ "$(jq -r .sub "$T/claims.json")" = "sp:$APP" ] || fail "token sub"
"$AZKM" role assignment create --vault-name "$VAULT" --role "Key Vault Reader" --assignee "sp:$APP" --scope / \
    >/dev/null
CURL_EXTRA=(-H "Authorization: Bearer $TOKEN")
call GET "/keys?api-version=$API"
expect 200
CURL_EXTRA=()

step "PS256, and x5t (SHA-1)"
token_with "$(assertion '.alg = "PS256"')"
expect 200
token_with "$(assertion '.tpname = "x5t" | .tp = "'"$SHA1"'"')"
expect 200

step "a replayed assertion"
a=$(assertion)
token_with "$a"
expect 200
token_with "$a"
expect 401
field .error_description | grep -q 'used before' || fail "replay: $(field .error_description)"
expect_audit 401 TokenIssue

step "refused: times, audience, iss, sub, thumbprint, key, alg"
refused '.exp = (.nbf - 3600)' 'expired'
refused '.exp = (.exp + 7200)' 'more than an hour'
refused '.nbf = (.exp + 600) | .exp = (.exp + 700)' 'not valid yet'
refused '.aud = "https://elsewhere.example/azkm/oauth2/v2.0/token"' 'audience'
refused '.iss = "00000000-0000-4000-8000-000000000000"' 'iss, sub'
refused '.sub = "00000000-0000-4000-8000-000000000000"' 'iss, sub'
refused '.tp = "'"$(thumb sha256 "$T/other.crt")"'"' 'thumbprint'
refused '.key = "'"$T/other.key"'"' 'signature does not verify'
refused '.alg = "none"' 'RS256 or PS256'
refused '.alg = "HS256"' 'RS256 or PS256'
refused '.jti = ""' 'jti'

step "400: the assertion type missing or wrong, a secret with the assertion"
STATUS=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o "$T/body" -D "$T/headers" -w '%{http_code}' \
    -d grant_type=client_credentials -d "client_id=$APP" -d "scope=$SCOPE" -d "client_assertion=$(assertion)" \
    "http://$DOMAIN/azkm/oauth2/v2.0/token")
expect 400
[ "$(field .error)" = invalid_request ] || fail "no type: $(cat "$T/body")"
expect_audit 400 TokenIssue
token_with "$(assertion)" client_assertion_type=urn:other
expect 400
field .error_description | grep -q 'more than once' || fail "two types: $(field .error_description)"
token_with "$(assertion)" client_secret=s3cret
expect 400
field .error_description | grep -q 'not both' || fail "secret and assertion: $(field .error_description)"

step "a certificate renewed with credential-reset: the old one's assertions stop working"
openssl req -x509 -new -key "$T/other.key" -nodes -days 2 -subj "/CN=app-cert" -out "$T/renewed.crt" 2>/dev/null
"$AZKM" sp credential-reset --id "$APP" --cert "$T/renewed.crt" -o json >/dev/null
refused '.' 'thumbprint'
token_with "$(assertion '.tp = "'"$(thumb sha256 "$T/renewed.crt")"'" | .key = "'"$T/other.key"'"')"
expect 200
! grep -qF "$(cut -d. -f3 <<<"$a")" "$AZKM_AUDIT_LOG" || fail "an assertion in the audit log"
echo "PASS"
