#!/usr/bin/env bash
# A remote vault over mutual TLS: azkmd's TLS listener on loopback (its certificate for *.<domain>, issued by a test
# CA), the client a service principal known by its certificate and assigned Key Vault Crypto User. The entry
# (https URL, --ca, --client-cert, --client-key) is checked when made; key show and a signature through the
# provider work; failover from a dead Unix socket to https; administration refused (403) to the Crypto User, done
# once it is a Crypto Officer of one key (a create failing over from the dead socket); a wrong CA, an unregistered
# certificate and a missing client certificate each fail naming the vault, the URL and what failed.
. "$(dirname "$0")/lib.sh"
: "${REMOTE_DRIVER:?REMOTE_DRIVER must name the remote_driver program}"

ca server-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN"
ca other-ca
plain req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=app \
    -addext extendedKeyUsage=clientAuth -keyout "$T/app.key" -out "$T/app.crt" 2>/dev/null
plain req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=stranger \
    -addext extendedKeyUsage=clientAuth -keyout "$T/stranger.key" -out "$T/stranger.crt" 2>/dev/null
chmod 600 "$T"/*.key
# A second listener on IPv6 loopback where the machine has it (ip -6 addr show lo).
V6=()
ip -6 addr show lo 2>/dev/null | grep -q 'inet6 ::1/128' && V6=("listen_tls = [::1]:0")
write_config "listen_tls = 127.0.0.1:0" "${V6[@]}" "tls_certificate = $T/server.crt" "tls_key = $T/server.key"
start_azkmd
tls_port
server_keys
app=$("$AZKM" sp create --display-name app --cert "$T/app.crt" -o json | jq -r .appId)
"$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto User' --assignee "sp:$app" --scope / >/dev/null ||
    fail "role assignment"
TLS=(--ca "$T/server-ca.crt" --client-cert "$T/app.crt" --client-key "$T/app.key")

step "connect checks the TLS settings"
should_fail "https URLs need a client certificate and its key" client vault connect --name bad1 \
    --url "https://127.0.0.1:$PORT"
should_fail "the port must be 1-65535" client vault connect --name bad1 --url "https://127.0.0.1:99999" "${TLS[@]}"
should_fail "the host must be a DNS name, an IPv4 address or an IPv6 address in brackets \(no path\)" client vault \
    connect --name bad1 --url "https://kv.example/keys" "${TLS[@]}"
should_fail "URL 'https://\[::1\]x': the host must be a DNS name" client vault connect --name bad1 \
    --url "https://[::1]x" "${TLS[@]}"
should_fail "URL 'https://\[::g\]:8443': the host must be a DNS name" client vault connect --name bad1 \
    --url "https://[::g]:8443" "${TLS[@]}"
should_fail "client key $T/nokey.pem: No such file" client vault connect --name bad1 --url "https://127.0.0.1:$PORT" \
    --ca "$T/server-ca.crt" --client-cert "$T/app.crt" --client-key "$T/nokey.pem"
cp "$T/app.key" "$T/open.key" && chmod 644 "$T/open.key"
should_fail "client key $T/open.key has mode 0644" client vault connect --name bad1 \
    --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" --client-cert "$T/app.crt" --client-key "$T/open.key"
should_fail "a CA file or client certificate is for https URLs" client vault connect --name bad1 --url "unix:$SOCK" \
    "${TLS[@]}"
[ ! -e "$CLIENT/bad1" ] || fail "a refused entry was left behind"

step "key show and a signature through the provider over mutual TLS"
client vault connect --name web --url "https://127.0.0.1:$PORT" "${TLS[@]}" >/dev/null || fail "connect"
[ "$(jq -r .auth "$CLIENT/web/remote.json")" = certificate ] || fail "remote.json: $(cat "$CLIENT/web/remote.json")"
client key show --vault-name web --name web-ec --output json >"$T/k.json" || fail "key show over TLS"
[ "$(jq -r .key.crv "$T/k.json")" = P-256 ] || fail "show: $(cat "$T/k.json")"
with_provider openssl dgst -sha256 -sign azkm://web/keys/web-ec -out "$T/sig" "$T/k.json" || fail "sign over TLS"
openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/sig" "$T/k.json" >/dev/null || fail "verify"
audit_last | jq -e --arg sp "sp:$app" '.operationName == "KeySign" and .identity.principals[0] == $sp' \
    >/dev/null || fail "azkmd did not sign as the service principal: $(audit_last)"

step "fork and threads over TLS: the child opens its own TLS connections, the parent's stay usable"
coproc DRV { "$REMOTE_DRIVER" "$CLIENT" azkm://web/keys/web-ec; }
read -r -t 30 REPLY <&"${DRV[0]}" && [ "$REPLY" = loaded ] || fail "driver: $REPLY"
for cmd in sign fork sign; do
    echo "$cmd" >&"${DRV[1]}"
    read -r -t 60 REPLY <&"${DRV[0]}" || fail "the driver did not answer $cmd"
    [[ "$REPLY" == ok* ]] || fail "$cmd over TLS: $REPLY"
done
drv=$DRV_PID
echo quit >&"${DRV[1]}"
wait "$drv" || fail "the driver exited with an error"

step "failover from a dead Unix socket to https"
client vault connect --name two --remote-vault web --url "unix:$T/dead.sock" "https://127.0.0.1:$PORT" "${TLS[@]}" \
    >/dev/null || fail "connect two"
with_provider openssl dgst -sha256 -sign azkm://two/keys/web-rsa -out "$T/sig2" "$T/k.json" || fail "failover sign"
openssl dgst -sha256 -verify "$T/rsa.pub.pem" -signature "$T/sig2" "$T/k.json" >/dev/null || fail "verify"

step "administration over mutual TLS: refused to a Crypto User, done by a Crypto Officer of that key; a create that
could not be sent to the dead socket goes to https"
should_fail "POST /keys/made-tls/create answered 403 Forbidden: .*sp:$app" \
    client key create --vault-name web --name made-tls --kty EC
"$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto Officer' --assignee "sp:$app" \
    --scope /keys/made-tls >/dev/null || fail "officer role"
client key create --vault-name two --name made-tls --kty EC >/dev/null || fail "create over TLS after failover"
"$AZKM" key show --vault-name web --name made-tls >/dev/null || fail "made-tls is not on the server"
client key delete --vault-name web --name made-tls >/dev/null || fail "delete over TLS"
[ "$("$AZKM" key list-deleted --vault-name web --output json | jq -r '.[].name')" = made-tls ] || fail "not deleted"

if [ ${#V6[@]} = 1 ]; then
    step "IPv6: https://[::1]:port, key show and a signature through the provider"
    PORT6=$(sed -n 's/^azkmd: listening on https:\/\/\[::1\]:0 (port \([0-9]*\)).*/\1/p' "$T/azkmd.log")
    [ -n "$PORT6" ] || fail "no IPv6 port in azkmd's log"
    client vault connect --name six --remote-vault web --url "https://[::1]:$PORT6" "${TLS[@]}" >/dev/null ||
        fail "connect https://[::1]:$PORT6"
    [ "$(jq -r '.urls[0]' "$CLIENT/six/remote.json")" = "https://[::1]:$PORT6" ] || fail "$(cat "$CLIENT/six/remote.json")"
    with_provider openssl dgst -sha256 -sign azkm://six/keys/web-ec -out "$T/sig6" "$T/k.json" || fail "sign over IPv6"
    openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/sig6" "$T/k.json" >/dev/null || fail "verify"
    audit_last | jq -e '.operationName == "KeySign" and (.callerIpAddress | startswith("::1:"))' >/dev/null ||
        fail "azkmd did not sign for ::1: $(audit_last)"
    stop_azkmd
    should_fail "remote vault six: azkmd at https://\[::1\]:$PORT6: GET /keys/web-ec/: cannot connect" \
        client key show --vault-name six --name web-ec
    start_azkmd
    tls_port
else
    echo "(no IPv6 loopback address on this machine: https://[::1] not tried)"
fi

step "a CA that did not issue azkmd's certificate, an unregistered certificate"
client vault connect --name wrongca --remote-vault web --url "https://127.0.0.1:$PORT" --ca "$T/other-ca.crt" \
    --client-cert "$T/app.crt" --client-key "$T/app.key" >/dev/null
should_fail "remote vault wrongca: azkmd at https://127.0.0.1:$PORT: GET /keys/web-ec/: the server's certificate is not trusted" \
    client key show --vault-name wrongca --name web-ec
chmod 600 "$T/stranger.key"
client vault connect --name stranger --remote-vault web --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" \
    --client-cert "$T/stranger.crt" --client-key "$T/stranger.key" >/dev/null
should_fail "remote vault stranger: azkmd at https://127.0.0.1:$PORT: GET /keys/web-ec/ answered 401 Unauthorized: .*not registered" \
    client key show --vault-name stranger --name web-ec
echo "PASS"
