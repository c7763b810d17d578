#!/usr/bin/env bash
# Authorization of Unix socket peers (until role assignments are wired in): azkmd's own uid and root may do
# everything; another user (nobody, through a 0666 socket) is identified by SO_PEERCRED and refused with 403
# ForbiddenByRbac naming the exact data action of each route, and every refusal is audited with its principals.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || fail "this scenario runs curl as nobody: run it as root"
write_config
sed -i "s|^listen_unix = .*|listen_unix = $SOCK mode=0666|" "$T/azkmd.conf"
start_azkmd
[ "$(stat -c %a "$SOCK")" = 666 ] || fail "socket mode $(stat -c %a "$SOCK")"
call POST "/keys/app/create?api-version=$API" '{"kty":"EC"}'
expect 200

nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)
# as_nobody METHOD PATH [BODY]: the request from uid nobody.
as_nobody() {
    # nobody cannot write into $T: the body comes through stdout, the status through stderr.
    local args=(-s --max-time 10 --unix-socket "$SOCK" -o - -w '%{stderr}%{http_code}' -X "$1")
    [ -n "${3-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    STATUS=$(setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups curl "${args[@]}" \
        "http://$VAULT.$DOMAIN$2" 2>&1 >"$T/body") || fail "curl as nobody failed"
}

digest=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU
while read -r method path action body; do
    as_nobody "$method" "$path" "$body"
    expect 403 Forbidden
    [ "$(field .error.innererror.code)" = ForbiddenByRbac ] || fail "$path: innererror"
    field .error.message | grep -qF "Action: 'Microsoft.KeyVault/vaults/keys/$action'" ||
        fail "$path: the message does not name $action"
    field .error.message | grep -qF "uid:$nobody_uid" || fail "$path: the message does not name the caller"
    rec=$(audit_last)
    [ "$(jq -r .httpStatusCode <<<"$rec")" = 403 ] || fail "$path: not audited"
    [ "$(jq -c .identity.principals <<<"$rec")" = "[\"uid:$nobody_uid\",\"gid:$nobody_gid\"]" ] ||
        fail "$path: audit principals $(jq -c .identity.principals <<<"$rec")"
done <<EOF2
GET /keys?api-version=$API read
GET /keys/app/?api-version=$API read
GET /keys/app/versions?api-version=$API read
POST /keys/other/create?api-version=$API create/action {"kty":"EC"}
POST /keys/app/rotate?api-version=$API rotate/action
POST /keys/app//sign?api-version=$API sign/action {"alg":"ES256","value":"$digest"}
POST /keys/app//verify?api-version=$API verify/action {"alg":"ES256","digest":"$digest","value":"AA"}
POST /keys/app//encrypt?api-version=$API encrypt/action {"alg":"RSA-OAEP","value":"AA"}
POST /keys/app//decrypt?api-version=$API decrypt/action {"alg":"RSA-OAEP","value":"AA"}
POST /keys/app//wrapkey?api-version=$API wrap/action {"alg":"RSA-OAEP","value":"AA"}
POST /keys/app//unwrapkey?api-version=$API unwrap/action {"alg":"RSA-OAEP","value":"AA"}
EOF2

step "nothing was created or rotated by the refused requests"
call GET "/keys/app/versions?api-version=$API"
[ "$(field '.value | length')" = 1 ] || fail "app has more than one version"
call GET "/keys/other?api-version=$API"
expect 404 KeyNotFound

step "root is allowed"
call GET "/keys/app?api-version=$API"
expect 200
echo "PASS"
