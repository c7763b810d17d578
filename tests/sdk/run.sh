#!/usr/bin/env bash
# The real Azure SDK for JavaScript (@azure/keyvault-keys, @azure/identity, pinned by tests/sdk/package-lock.json)
# against a real azkmd: TLS on a loopback port with a test CA (NODE_EXTRA_CA_CERTS), the token issuer on, the vault
# addressed by Host as https://web.vault.azkm.localhost:<port> (localhost.js resolves *.localhost to 127.0.0.1),
# service principals made with `azkm sp create`, role assignments with `azkm role assignment create`.
#   run.sh SCENARIO     SCENARIO.js in this folder: keys (every operation, one Crypto Officer principal; then
#                       mtls.js, a client certificate, and unix.js, the Unix socket, on the same azkmd), roles
#                       (one principal per built-in role), example (the JavaScript example of docs/server.md)
. "$(dirname "$0")/../server/lib.sh"

SDK="$AZKM_TOP/tests/sdk"
scenario=${1:?usage: run.sh keys|roles|example}
[ -f "$SDK/node_modules/.azkm-installed-lock.json" ] && cmp -s "$SDK/package-lock.json" \
    "$SDK/node_modules/.azkm-installed-lock.json" ||
    fail "the Azure SDK packages of tests/sdk/package-lock.json are not installed: run scripts/setup.sh (it runs tests/sdk/install.sh)"
major=$(node -p 'process.versions.node.split(".")[0]') || fail "node is missing (scripts/setup.sh installs it)"
[ "$major" -ge 20 ] || fail "node $(node --version) is too old for the pinned Azure SDK (needs 20 or later)"

ca ca
issue ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN,DNS:$DOMAIN"
# A client certificate from the same CA (tls_client_ca), registered to a service principal by the keys scenario.
issue ca client "/CN=sdk-client" "extendedKeyUsage=clientAuth"

# The token issuer's signing key, in a vault of its own on the software tier (no role assignment reaches it).
"$AZKM" vault create --name issuer >/dev/null
"$AZKM" key create --vault-name issuer --name signing --kty EC --curve P-256 >/dev/null
# The token issuer's `authority` is the origin the SDK is given as authorityHost, port included: msal-node checks
# that the OpenID discovery document's issuer has the authority's scheme, host and port. So the port is chosen
# before azkmd starts (scripts/free-port.sh), and chosen again if another process took it first.
for attempt in 1 2 3 4 5; do
    PORT=$(bash "$AZKM_TOP/scripts/free-port.sh") || fail "no free port"
    write_config "listen_tls = 127.0.0.1:$PORT" "tls_certificate = $T/server.crt" "tls_key = $T/server.key" \
        "tls_client_ca = $T/ca.crt" "token_signing_key = issuer/signing" "token_lifetime = 600" \
        "authority = https://login.$DOMAIN:$PORT"
    : >"$T/azkmd.log"
    "$AZKMD" --config "$T/azkmd.conf" >"$T/azkmd.log" 2>&1 &
    AZKMD_PID=$!
    for _ in $(seq 100); do
        grep -q '^azkmd: ready' "$T/azkmd.log" && break 2
        kill -0 "$AZKMD_PID" 2>/dev/null || break
        sleep 0.1
    done
    wait "$AZKMD_PID" 2>/dev/null || true
    AZKMD_PID=
    grep -q 'in use' "$T/azkmd.log" || fail "azkmd did not start"
done
[ -n "$AZKMD_PID" ] || fail "azkmd found no free port in 5 attempts"

# principal ROLE: a service principal assigned ROLE at scope / of the vault; its "role appId secret" line in
# $T/principals.txt (read by the scenario, never logged).
principal() {
    local sp
    sp=$("$AZKM" sp create --display-name "sdk ${1}" -o json) || fail "azkm sp create"
    "$AZKM" role assignment create --vault-name "$VAULT" --role "$1" --assignee "sp:$(jq -r .appId <<<"$sp")" \
        --scope / >/dev/null || fail "role assignment $1"
    jq -c --arg role "$1" '{role: $role, appId, password}' <<<"$sp" >>"$T/principals.json"
}
case $scenario in
keys | example) principal "Key Vault Crypto Officer" ;;
roles)
    for role in "Key Vault Administrator" "Key Vault Crypto Officer" "Key Vault Crypto User" \
        "Key Vault Crypto Service Encryption User" "Key Vault Crypto Service Release User" "Key Vault Reader" \
        "Managed HSM Crypto Auditor" "Managed HSM Backup User"; do
        principal "$role"
    done
    ;;
*) fail "unknown scenario '$scenario' (keys, roles, example)" ;;
esac

export NODE_PATH="$SDK/node_modules" NODE_EXTRA_CA_CERTS="$T/ca.crt"
export AZKM_SDK_VAULT_URL="https://$VAULT.$DOMAIN:$PORT" AZKM_SDK_AUTHORITY="https://login.$DOMAIN:$PORT"
export AZKM_SDK_TENANT=azkm AZKM_SDK_PRINCIPALS="$T/principals.json" AZKM_SDK_TIER="$AZKMD_TEST_TIER"
export AZKM_SDK_DOCS="$AZKM_TOP/docs/server.md" AZKM_SDK_AUDIT_LOG="$AZKM_AUDIT_LOG" AZKM_SDK_SOCKET="$SOCK"
step "node $scenario.js against $AZKM_SDK_VAULT_URL (tier $AZKMD_TEST_TIER)"
timeout 170 node -r "$SDK/localhost.js" "$SDK/$scenario.js" || fail "$scenario.js failed (exit $?)"
if [ "$scenario" = keys ]; then
    step "the audit records of the SDK's requests: the service principal by bearer token, the SDK's request ids"
    officer=$(jq -r .appId "$T/principals.json")
    n=$(jq -c --arg p "sp:$officer" 'select(.category == "AuditEvent" and .operationName == "KeySign" and
        .identity.principals[0] == $p and .identity.authenticatedBy == "BearerToken" and .httpStatusCode == 200 and
        (.clientRequestId | test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")))' \
        "$AZKM_AUDIT_LOG" | wc -l)
    [ "$n" -ge 10 ] || fail "audit: $n KeySign records of sp:$officer with the SDK's x-ms-client-request-id"
    step "node mtls.js: a client certificate registered to a Crypto Officer service principal"
    app=$("$AZKM" sp create --display-name sdk-client --cert "$T/client.crt" -o json | jq -r .appId)
    "$AZKM" role assignment create --vault-name "$VAULT" --role "Key Vault Crypto Officer" --assignee "sp:$app" \
        --scope / >/dev/null || fail "role assignment for the certificate"
    AZKM_SDK_CLIENT_CERT="$T/client.crt" AZKM_SDK_CLIENT_KEY="$T/client.key" timeout 60 \
        node -r "$SDK/localhost.js" "$SDK/mtls.js" || fail "mtls.js failed (exit $?)"
    [ "$(audit_last | jq -r '.operationName + " " + .identity.principals[0] + " " + .identity.authenticatedBy')" = \
        "KeySign sp:$app ClientCertificate" ] || fail "audit of the certificate's sign: $(audit_last)"
    step "node unix.js over $SOCK"
    timeout 60 node "$SDK/unix.js" || fail "unix.js failed (exit $?)"
    [ "$(audit_last | jq -r '.operationName + " " + .identity.authenticatedBy')" = "KeyList PeerCredentials" ] ||
        fail "audit of the Unix socket requests: $(audit_last)"
fi
grep -qF "$(jq -r .password "$T/principals.json" | head -n 1)" "$AZKM_AUDIT_LOG" "$T/azkmd.log" &&
    fail "a client secret is in a log"
echo "PASS"
