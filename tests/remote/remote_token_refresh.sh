#!/usr/bin/env bash
# Bearer tokens renewed before they expire: azkmd issues tokens for 60 s (token_lifetime, its minimum), and one
# process (remote_driver) keeping a key of a remote vault connected with a client secret signs about once a second
# for two lifetimes and a little more (past the first token's exp plus azkmd's 60 s clock skew), forking once on
# the way. Every signature succeeds; azkmd refused none of its tokens (no 401 in its audit): the client got a new
# token each time a tenth of the lifetime was left (3 tokens in all, one more at most), never one per request.
. "$(dirname "$0")/lib.sh"
: "${REMOTE_DRIVER:?REMOTE_DRIVER must name the remote_driver program}"

"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
write_config "token_signing_key = issuer/signing" "token_lifetime = 60"
start_azkmd
server_keys
sp=$("$AZKM" sp create --display-name app-refresh -o json 2>/dev/null)
APP=$(jq -r .appId <<<"$sp")
(umask 077 && jq -r .password <<<"$sp" >"$T/app.secret")
"$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto User' --assignee "sp:$APP" --scope / \
    >/dev/null || fail "role assignment"
client vault connect --name web --url "unix:$SOCK" --client-id "$APP" --client-secret-file "$T/app.secret" \
    >/dev/null || fail "connect"

step "signs for 122 s with 60 s tokens"
coproc DRV { "$REMOTE_DRIVER" "$CLIENT" azkm://web/keys/web-ec; }
read -r -t 30 REPLY <&"${DRV[0]}" && [ "$REPLY" = loaded ] || fail "driver: $REPLY"
start=$SECONDS n=0 forked=0
while [ $((SECONDS - start)) -lt 122 ] && [ "$n" -lt 400 ]; do
    cmd=sign
    [ "$forked" = 0 ] && [ $((SECONDS - start)) -ge 30 ] && cmd=fork forked=1
    echo "$cmd" >&"${DRV[1]}"
    read -r -t 60 REPLY <&"${DRV[0]}" || fail "the driver did not answer $cmd $n"
    [[ "$REPLY" == ok* ]] || fail "$cmd $n after $((SECONDS - start)) s: $REPLY"
    n=$((n + 1))
    sleep 1
done
drv=$DRV_PID
echo quit >&"${DRV[1]}"
wait "$drv" || fail "the driver exited with an error"
echo "$n requests in $((SECONDS - start)) s"

audit() { jq -c 'select(.category == "AuditEvent")' "$AZKM_AUDIT_LOG"; }
issued=$(audit | jq -s '[.[] | select(.operationName == "TokenIssue" and .httpStatusCode == 200)] | length')
refused=$(audit | jq -s '[.[] | select(.httpStatusCode == 401)] | length')
signed=$(audit | jq -s '[.[] | select(.operationName == "KeySign" and .httpStatusCode == 200 and
    .identity.authenticatedBy == "BearerToken")] | length')
echo "tokens issued: $issued, requests refused: $refused, signatures by token: $signed"
[ "$refused" = 0 ] || fail "azkmd refused $refused requests: $(audit | jq -c 'select(.httpStatusCode == 401)')"
[ "$issued" -ge 3 ] && [ "$issued" -le 4 ] || fail "expected 3 tokens (4 at most), got $issued"
[ "$signed" -ge "$n" ] || fail "only $signed signatures by token for $n requests"
echo "PASS"
