#!/usr/bin/env bash
# A remote vault whose client is a service principal with a bearer token from azkmd's token endpoint: got with its
# client secret (a 0600 file) or with a client assertion signed by its certificate's key, over the Unix socket and
# over TLS (Host login.<domain>). The key signs through the CLI and the provider as sp:<appId> (audit:
# authenticatedBy BearerToken; the token requests ClientSecret / ClientAssertion); the entry holds no secret and
# the secret is in no log. A token azkmd stops accepting (its signing key's version disabled) is replaced once and
# the request sent again, in a process that keeps its key loaded (remote_driver). A wrong secret, an unregistered
# certificate and a deleted service principal fail naming the token endpoint and Entra's error code.
. "$(dirname "$0")/lib.sh"
: "${REMOTE_DRIVER:?REMOTE_DRIVER must name the remote_driver program}"

ca server-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN"
"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/server.crt" "tls_key = $T/server.key" \
    "token_signing_key = issuer/signing"
start_azkmd
tls_port
server_keys
sp=$("$AZKM" sp create --display-name app-secret -o json)
APP=$(jq -r .appId <<<"$sp")
SECRET=$(jq -r .password <<<"$sp")
"$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto User' --assignee "sp:$APP" --scope / \
    >/dev/null || fail "role assignment"
(umask 077 && printf '%s\n' "$SECRET" >"$T/app.secret")
echo hello >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/msg.sha256"

# signs_as VAULT KEY PUB APP OPERATION: the CLI and openssl pkeyutl (the provider) sign with VAULT's KEY, verified
# with PUB; azkmd's audit has KeySign as sp:APP with a bearer token, after a token request (OPERATION's method).
signs_as() {
    client key sign --vault-name "$1" --name "$2" --algorithm ES256 --data-file "$T/msg" -o json >"$T/s.json" ||
        fail "CLI sign on $1"
    audit_last | jq -e --arg sp "sp:$4" '.operationName == "KeySign" and .identity.principals[0] == $sp and
        .identity.authenticatedBy == "BearerToken"' >/dev/null || fail "CLI sign not as $4 by token: $(audit_last)"
    jq -c 'select(.category == "AuditEvent" and .operationName == "TokenIssue")' "$AZKM_AUDIT_LOG" | tail -n 1 |
        jq -e --arg m "$5" '.httpStatusCode == 200 and .identity.authenticatedBy == $m' >/dev/null ||
        fail "no TokenIssue by $5 in the audit"
    with_provider openssl pkeyutl -sign -inkey "azkm://$1/keys/$2" -in "$T/msg.sha256" -pkeyopt digest:sha256 \
        -out "$T/p.sig" ||
        fail "pkeyutl on $1"
    openssl pkeyutl -verify -pubin -inkey "$3" -in "$T/msg.sha256" -sigfile "$T/p.sig" >/dev/null || fail "verify"
    audit_last | jq -e --arg sp "sp:$4" '.operationName == "KeySign" and .identity.principals[0] == $sp and
        .identity.authenticatedBy == "BearerToken"' >/dev/null || fail "pkeyutl not as $4 by token: $(audit_last)"
}

step "connect checks a service principal's fields"
cp "$T/app.secret" "$T/open.secret" && chmod 640 "$T/open.secret"
should_fail "client secret file $T/open.secret has mode 0640" client vault connect --name bad1 --url "unix:$SOCK" \
    --client-id "$APP" --client-secret-file "$T/open.secret"
should_fail "client id 'app-1' is not an appId" client vault connect --name bad1 --url "unix:$SOCK" \
    --client-id app-1 --client-secret-file "$T/app.secret"
should_fail "a service principal needs --client-id" client vault connect --name bad1 --url "unix:$SOCK" \
    --client-secret-file "$T/app.secret"
should_fail "a service principal is --client-id with either --client-secret-file or" client vault connect \
    --name bad1 --url "unix:$SOCK" --client-id "$APP"
should_fail "tenant 'a/b' is invalid" client vault connect --name bad1 --url "unix:$SOCK" --client-id "$APP" \
    --tenant a/b --client-secret-file "$T/app.secret"
should_fail "client secret file $T/none: No such file" client vault connect --name bad1 --url "unix:$SOCK" \
    --client-id "$APP" --client-secret-file "$T/none"
[ ! -e "$CLIENT/bad1" ] || fail "a refused entry was left behind"

step "a client secret over the Unix socket: the CLI and the provider sign as the service principal"
client vault connect --name web --url "unix:$SOCK" --client-id "$APP" --client-secret-file "$T/app.secret" \
    >/dev/null || fail "connect"
jq -e --arg app "$APP" --arg f "$T/app.secret" '.auth == "secret" and .client_id == $app and .tenant == "azkm" and
    .client_secret_file == $f' "$CLIENT/web/remote.json" >/dev/null || fail "remote.json: $(cat "$CLIENT/web/remote.json")"
grep -qF "$SECRET" "$CLIENT/web/remote.json" && fail "the secret is in remote.json"
signs_as web web-ec "$T/ec.pub.pem" "$APP" ClientSecret

step "over TLS: the token from https://login.$DOMAIN, no client certificate"
client vault connect --name webtls --remote-vault web --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" \
    --client-id "$APP" --client-secret-file "$T/app.secret" >/dev/null || fail "connect over TLS"
signs_as webtls web-ec "$T/ec.pub.pem" "$APP" ClientSecret

step "a token azkmd stops accepting is replaced once, in a process that keeps its key"
coproc DRV { "$REMOTE_DRIVER" "$CLIENT" azkm://web/keys/web-ec; }
read -r -t 30 REPLY <&"${DRV[0]}" && [ "$REPLY" = loaded ] || fail "driver: $REPLY"
echo sign >&"${DRV[1]}"
read -r -t 30 REPLY <&"${DRV[0]}" && [[ "$REPLY" == ok* ]] || fail "first sign: $REPLY"
issued=$(jq -c 'select(.operationName == "TokenIssue")' "$AZKM_AUDIT_LOG" | wc -l)
old=$("$AZKM" key show --vault-name issuer --name signing -o json | jq -r '.key.kid | split("/") | last')
"$AZKM" key rotate --vault-name issuer --name signing >/dev/null || fail "rotate the signing key"
"$AZKM" key set-attributes --vault-name issuer --name signing --version "$old" --enabled false >/dev/null ||
    fail "disable the old signing key version"
sleep 2.5 # azkmd trusts a signing key version it read for 2 s
echo sign >&"${DRV[1]}"
read -r -t 30 REPLY <&"${DRV[0]}" && [[ "$REPLY" == ok* ]] || fail "sign after the token was revoked: $REPLY"
echo quit >&"${DRV[1]}"
jq -c 'select(.category == "AuditEvent")' "$AZKM_AUDIT_LOG" | tail -n 3 | jq -s -e '
    [.[].operationName, .[].httpStatusCode] == ["KeySign", "TokenIssue", "KeySign", 401, 200, 200]' >/dev/null ||
    fail "expected a 401, a new token and the sign again: $(jq -c 'select(.category == "AuditEvent")' \
        "$AZKM_AUDIT_LOG" | tail -n 3)"
[ $(($(jq -c 'select(.operationName == "TokenIssue")' "$AZKM_AUDIT_LOG" | wc -l) - issued)) = 1 ] ||
    fail "not exactly one new token"

step "a wrong secret names the token endpoint and Entra's error code"
(umask 077 && echo wrong >"$T/wrong.secret")
client vault connect --name wrong --remote-vault web --url "unix:$SOCK" --client-id "$APP" \
    --client-secret-file "$T/wrong.secret" >/dev/null || fail "connect wrong"
should_fail "remote vault wrong: azkmd's token endpoint at unix:$SOCK: POST /azkm/oauth2/v2.0/token answered 401 invalid_client: AADSTS7000215: invalid client secret" \
    client key show --vault-name wrong --name web-ec
chmod 644 "$T/wrong.secret"
should_fail "remote vault wrong: client secret file $T/wrong.secret has mode 0644" \
    client key show --vault-name wrong --name web-ec

step "a client assertion signed with the service principal's certificate key"
plain req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=app-cert -keyout "$T/cert-app.key" \
    -out "$T/cert-app.crt" 2>/dev/null
plain req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=stranger -keyout "$T/stranger.key" \
    -out "$T/stranger.crt" 2>/dev/null
chmod 600 "$T/cert-app.key" "$T/stranger.key"
CAPP=$("$AZKM" sp create --display-name app-cert --cert "$T/cert-app.crt" -o json | jq -r .appId)
"$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto User' --assignee "sp:$CAPP" --scope / \
    >/dev/null || fail "role assignment"
client vault connect --name bad2 --remote-vault web --url "unix:$SOCK" --client-id "$CAPP" \
    --client-assertion-cert "$T/cert-app.crt" --client-assertion-key "$T/stranger.key" >/dev/null || fail "bad2"
should_fail "remote vault bad2: client assertion key $T/stranger.key is not the RSA private key .* of $T/cert-app.crt" \
    client key show --vault-name bad2 --name web-ec
client vault connect --name certs --remote-vault web --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" \
    --client-id "$CAPP" --client-assertion-cert "$T/cert-app.crt" --client-assertion-key "$T/cert-app.key" \
    >/dev/null || fail "connect with an assertion"
jq -e '.auth == "assertion"' "$CLIENT/certs/remote.json" >/dev/null || fail "$(cat "$CLIENT/certs/remote.json")"
signs_as certs web-ec "$T/ec.pub.pem" "$CAPP" ClientAssertion
client vault connect --name stranger --remote-vault web --url "unix:$SOCK" --client-id "$CAPP" \
    --client-assertion-cert "$T/stranger.crt" --client-assertion-key "$T/stranger.key" >/dev/null ||
    fail "connect stranger"
should_fail "azkmd's token endpoint at unix:$SOCK: POST /azkm/oauth2/v2.0/token answered 401 invalid_client: AADSTS700027: " \
    client key show --vault-name stranger --name web-ec

step "a deleted service principal gets no token"
"$AZKM" sp delete --id "$APP" >/dev/null || fail "sp delete"
"$AZKM" sp delete --id "$CAPP" >/dev/null || fail "sp delete"
should_fail "remote vault web: azkmd's token endpoint at unix:$SOCK: POST /azkm/oauth2/v2.0/token answered 401 invalid_client: AADSTS7000215" \
    client key show --vault-name web --name web-ec
should_fail "remote vault certs: azkmd's token endpoint at https://127.0.0.1:$PORT: POST /azkm/oauth2/v2.0/token answered 401 invalid_client: AADSTS700027" \
    client key show --vault-name certs --name web-ec

step "the secret is in no log"
grep -qF "$SECRET" "$AZKM_AUDIT_LOG" "$T/azkmd.log" "$T/client-audit.log" && fail "the client secret is in a log"
echo "PASS"
