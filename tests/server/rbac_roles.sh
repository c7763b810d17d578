#!/usr/bin/env bash
# Role assignments decide for every caller but azkmd's own uid and root: uid nobody (a Unix socket peer, through a
# 0666 socket) with no assignment gets 403 ForbiddenByRbac naming the data action; Key Vault Crypto User at
# /keys/k1 gets and signs with k1 only; Reader reads but does not sign; Crypto Officer creates; a supplementary
# group's assignment counts; a deleted assignment stops granting on the next request, without a restart. Over
# TLS, a client certificate registered with `azkm sp create --cert` is sp:<appId>: assigned Crypto User it signs,
# and the key id it gets back round-trips; an unregistered one gets 401. Needs root (curl runs as nobody).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || fail "this scenario runs curl as nobody: run it as root"
ca server-ca
ca client-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN,DNS:$DOMAIN"
issue client-ca app "/CN=app-1" "extendedKeyUsage=clientAuth"
issue client-ca unregistered "/CN=app-2" "extendedKeyUsage=clientAuth"

write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/server.crt" "tls_key = $T/server.key" \
    "tls_client_ca = $T/client-ca.crt"
sed -i "s|^listen_unix = .*|listen_unix = $SOCK mode=0666|" "$T/azkmd.conf"
start_azkmd
tls_port
for k in k1 k2; do
    call POST "/keys/$k/create?api-version=$API" '{"kty":"EC"}'
    expect 200
done

NOBODY=$(id -u nobody)
GROUPS_ARG=--clear-groups
# as_nobody METHOD PATH [BODY]: the request from uid nobody (groups: $GROUPS_ARG); sets STATUS, body in $T/body.
as_nobody() {
    local args=(-s --max-time 10 --unix-socket "$SOCK" -o - -w '%{stderr}%{http_code}' -X "$1")
    [ -n "${3-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    STATUS=$(setpriv --reuid="$NOBODY" --regid="$(id -g nobody)" "$GROUPS_ARG" curl "${args[@]}" \
        "http://$VAULT.$DOMAIN$2" 2>&1 >"$T/body") || fail "curl as nobody failed"
}
digest=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU
SIGN='{"alg":"ES256","value":"'$digest'"}'
# denied ACTION METHOD PATH [BODY]: nobody's request is refused with 403 ForbiddenByRbac naming ACTION.
denied() {
    as_nobody "$2" "$3" "${4-}"
    expect 403 Forbidden
    [ "$(field .error.innererror.code)" = ForbiddenByRbac ] || fail "$3: innererror"
    field .error.message | grep -qF "Action: 'Microsoft.KeyVault/vaults/keys/$1'" || fail "$3: does not name $1"
    [ "$(audit_last | jq -r '.identity.principals[0] + " " + .identity.authenticatedBy')" = \
        "uid:$NOBODY PeerCredentials" ] || fail "$3: audit identity $(audit_last | jq -c .identity)"
}
allowed() { # allowed METHOD PATH [BODY]
    as_nobody "$1" "$2" "${3-}"
    expect 200
}
assign() { # assign ROLE ASSIGNEE SCOPE: prints the assignment's name
    "$AZKM" role assignment create --vault-name "$VAULT" --role "$1" --assignee "$2" --scope "$3" -o json |
        jq -r .name
}

step "no assignment: 403 naming the data action"
denied read GET "/keys/k1?api-version=$API"
denied sign/action POST "/keys/k1//sign?api-version=$API" "$SIGN"

step "Key Vault Crypto User at /keys/k1: get and sign k1; not k2, not create, not delete"
user=$(assign 'Key Vault Crypto User' "uid:$NOBODY" /keys/k1)
allowed GET "/keys/k1?api-version=$API"
allowed POST "/keys/k1//sign?api-version=$API" "$SIGN"
[ "$(audit_last | jq -r .identity.principals[0])" = "uid:$NOBODY" ] || fail "audit principal"
denied read GET "/keys/k2?api-version=$API"
denied sign/action POST "/keys/k2//sign?api-version=$API" "$SIGN"
denied create/action POST "/keys/k1/create?api-version=$API" '{"kty":"EC"}'
denied delete DELETE "/keys/k1?api-version=$API"

step "the assignment deleted: refused on the next request, no restart"
"$AZKM" role assignment delete --vault-name "$VAULT" --name "$user" >/dev/null
denied sign/action POST "/keys/k1//sign?api-version=$API" "$SIGN"

step "Key Vault Reader at /keys: get, not sign"
reader=$(assign 'Key Vault Reader' "uid:$NOBODY" /keys)
allowed GET "/keys/k2?api-version=$API"
allowed GET "/keys?api-version=$API"
denied sign/action POST "/keys/k2//sign?api-version=$API" "$SIGN"
"$AZKM" role assignment delete --vault-name "$VAULT" --name "$reader" >/dev/null

step "Key Vault Crypto Officer at /: create"
officer=$(assign 'Key Vault Crypto Officer' "uid:$NOBODY" /)
allowed POST "/keys/k3/create?api-version=$API" '{"kty":"EC"}'
"$AZKM" role assignment delete --vault-name "$VAULT" --name "$officer" >/dev/null
denied create/action POST "/keys/k4/create?api-version=$API" '{"kty":"EC"}'

step "a supplementary group's assignment counts (SO_PEERGROUPS)"
assign 'Key Vault Reader' gid:4242 /keys/k2 >/dev/null
denied read GET "/keys/k2?api-version=$API"
GROUPS_ARG=--groups=4242
allowed GET "/keys/k2?api-version=$API"
[ "$(audit_last | jq -c .identity.principals)" = "[\"uid:$NOBODY\",\"gid:$(id -g nobody)\",\"gid:4242\"]" ] ||
    fail "audit principals $(audit_last | jq -c .identity.principals)"

step "an assignment tampered with in the catalog (Reader made Administrator): 500, nothing granted, audited"
sqlite3 "$AZKM_KEYSTORE_DIR/$VAULT/vault.db" \
    "UPDATE role_assignments SET role_id = '00482a5a-887f-4fb3-b363-3b7fe8e74483' WHERE principal = 'gid:4242'"
as_nobody POST "/keys/k2//sign?api-version=$API" "$SIGN"
expect 500 InternalError
[ "$(field .error.innererror.code)" = IntegrityCheckFailed ] || fail "500 innererror"
field .error.message | grep -qF "integrity check failed for role assignment" || fail "500 message"
rec=$(audit_last)
[ "$(jq -r '.httpStatusCode, .identity.principals[0], .identity.authenticatedBy' <<<"$rec" | paste -sd' ')" = \
    "500 uid:$NOBODY PeerCredentials" ] || fail "audit: $rec"
jq -r .resultDescription <<<"$rec" | grep -qF "integrity check failed" || fail "audit description: $rec"
sqlite3 "$AZKM_KEYSTORE_DIR/$VAULT/vault.db" \
    "UPDATE role_assignments SET role_id = '21090545-7ca7-4776-b22c-e363652d74d2' WHERE principal = 'gid:4242'"
allowed GET "/keys/k2?api-version=$API"

step "mTLS: a registered certificate is sp:<appId>; Crypto User signs with k1 over TLS; the key id round-trips"
tls() {
    STATUS=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/server-ca.crt" \
        -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@")
}
app=$("$AZKM" sp create --display-name app-1 --cert "$T/app.crt" -o json | jq -r .appId)
[[ "$app" =~ ^[0-9a-f-]{36}$ ]] || fail "sp create: appId '$app'"
tls --cert "$T/app.crt" --key "$T/app.key" "https://$VAULT.$DOMAIN:$PORT/keys/k1?api-version=$API"
expect 403 Forbidden
field .error.message | grep -qF "Caller: sp:$app." || fail "403 does not name sp:$app"
assign 'Key Vault Crypto User' "sp:$app" /keys/k1 >/dev/null
tls --cert "$T/app.crt" --key "$T/app.key" -H 'Content-Type: application/json' --data-binary "$SIGN" \
    "https://$VAULT.$DOMAIN:$PORT/keys/k1//sign?api-version=$API"
expect 200
kid=$(field .kid)
[[ "$kid" =~ ^https://$VAULT\.$DOMAIN:$PORT/keys/k1/[0-9a-f]{32}$ ]] || fail "kid $kid"
b64url_decode "$(field .value)" "$T/sig.raw"
[ "$(audit_last | jq -r '.identity.principals[0] + " " + .identity.authenticatedBy')" = \
    "sp:$app ClientCertificate" ] || fail "audit identity $(audit_last | jq -c .identity)"
tls --cert "$T/app.crt" --key "$T/app.key" "$kid?api-version=$API"
expect 200
[ "$(field .key.kid)" = "$kid" ] || fail "GET $kid answered $(field .key.kid)"
jwk_to_pem "$T/k1.pem"
raw_to_der "$T/sig.raw" "$T/sig.der"
printf '' | plain dgst -sha256 -verify "$T/k1.pem" -signature "$T/sig.der" >/dev/null ||
    fail "the signature does not verify"
tls --cert "$T/app.crt" --key "$T/app.key" "https://$VAULT.$DOMAIN:$PORT/keys/k2?api-version=$API"
expect 403 Forbidden

step "an unregistered certificate from the client CA: 401 with the challenge"
tls --cert "$T/unregistered.crt" --key "$T/unregistered.key" "https://$VAULT.$DOMAIN:$PORT/keys/k1?api-version=$API"
expect 401 Unauthorized
grep -qi '^WWW-Authenticate: Bearer ' "$T/headers" || fail "no challenge"
echo "PASS"
