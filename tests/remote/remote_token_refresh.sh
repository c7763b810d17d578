#!/usr/bin/env bash
# Bearer tokens renewed before they expire: azkmd issues tokens for 60 s (token_lifetime, its minimum), and two
# processes (remote_driver) each keeping a key of a remote vault, one connected with a client secret, the other
# with a client assertion, sign about once a second for a lifetime and a little more, each forking once on the
# way. Every signature succeeds; azkmd refused none of their tokens (no 401 in its audit); each got a new token
# when a tenth of the lifetime was left (2 tokens in all, one more at most), never one per request. A client that
# never renewed would still be served until exp plus azkmd's 60 s clock skew: the second token is the proof.
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
plain req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=app-cert -keyout "$T/cert.key" -out "$T/cert.crt" \
    2>/dev/null
chmod 600 "$T/cert.key"
CAPP=$("$AZKM" sp create --display-name app-cert --cert "$T/cert.crt" -o json | jq -r .appId)
"$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto User' --assignee "sp:$CAPP" --scope / \
    >/dev/null || fail "role assignment"
client vault connect --name certs --remote-vault web --url "unix:$SOCK" --client-id "$CAPP" \
    --client-assertion-cert "$T/cert.crt" --client-assertion-key "$T/cert.key" >/dev/null || fail "connect certs"

step "signs for 66 s with 60 s tokens"
# Two drivers at once (bash keeps one coprocess), each on a pair of named pipes: the secret's and the assertion's.
mkfifo "$T/a.in" "$T/a.out" "$T/b.in" "$T/b.out"
"$REMOTE_DRIVER" "$CLIENT" azkm://web/keys/web-ec <"$T/a.in" >"$T/a.out" &
drv_a=$!
exec {A_OUT}>"$T/a.in" {A_IN}<"$T/a.out"
"$REMOTE_DRIVER" "$CLIENT" azkm://certs/keys/web-ec <"$T/b.in" >"$T/b.out" &
drv_b=$!
exec {B_OUT}>"$T/b.in" {B_IN}<"$T/b.out"
for d in "$A_IN" "$B_IN"; do
    read -r -t 30 REPLY <&"$d" && [ "$REPLY" = loaded ] || fail "driver: $REPLY"
done
start=$SECONDS n=0 forked=0
while [ $((SECONDS - start)) -lt 66 ] && [ "$n" -lt 400 ]; do
    cmd=sign
    [ "$forked" = 0 ] && [ $((SECONDS - start)) -ge 30 ] && cmd=fork forked=1
    for d in "$A_OUT:$A_IN" "$B_OUT:$B_IN"; do
        echo "$cmd" >&"${d%:*}"
        read -r -t 60 REPLY <&"${d#*:}" || fail "the driver did not answer $cmd $n"
        [[ "$REPLY" == ok* ]] || fail "$cmd $n after $((SECONDS - start)) s: $REPLY"
    done
    n=$((n + 1))
    sleep 1
done
echo quit >&"$A_OUT"
echo quit >&"$B_OUT"
wait "$drv_a" || fail "the secret's driver exited with an error"
wait "$drv_b" || fail "the assertion's driver exited with an error"
echo "$n requests each in $((SECONDS - start)) s"

audit() { jq -c 'select(.category == "AuditEvent")' "$AZKM_AUDIT_LOG"; }
issued() {
    audit | jq -s --arg m "$1" '[.[] | select(.operationName == "TokenIssue" and .httpStatusCode == 200 and
        .identity.authenticatedBy == $m)] | length'
}
refused=$(audit | jq -s '[.[] | select(.httpStatusCode == 401)] | length')
signed=$(audit | jq -s '[.[] | select(.operationName == "KeySign" and .httpStatusCode == 200 and
    .identity.authenticatedBy == "BearerToken")] | length')
echo "tokens issued: $(issued ClientSecret) by secret, $(issued ClientAssertion) by assertion;" \
    "requests refused: $refused, signatures by token: $signed"
[ "$refused" = 0 ] || fail "azkmd refused $refused requests: $(audit | jq -c 'select(.httpStatusCode == 401)')"
for m in ClientSecret ClientAssertion; do
    [ "$(issued $m)" -ge 2 ] && [ "$(issued $m)" -le 3 ] || fail "$m: expected 2 tokens (3 at most), got $(issued $m)"
done
[ "$signed" -ge $((2 * n)) ] || fail "only $signed signatures by token for $n requests each"
echo "PASS"
