#!/usr/bin/env bash
# A remote vault over mutual TLS whose client key is a key reference file: the key lives in a LOCAL vault of the
# client's keystore (software, then a SoftHSM token), and the TLS client handshake signs with it through the azkm
# provider. libcurl loads the client key with OpenSSL's decoders, which turn the AZKM KEY REFERENCE PEM into the
# vault key when the azkm provider is loaded in the process: openssl with the provider signs over mTLS as the
# service principal of the certificate; the CLI does too with OPENSSL_CONF, and without the provider fails saying
# so. A key reference to a key of a remote vault is refused (the connection would need itself), at connect and
# when an entry changed afterwards is opened.
. "$(dirname "$0")/lib.sh"
. "$REMOTE_DIR/../softhsm.sh"

softhsm_init "$T/hsm" client-token
ca server-ca
issue server-ca server "/CN=*.$DOMAIN" "subjectAltName=DNS:*.$DOMAIN"
write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/server.crt" "tls_key = $T/server.key"
start_azkmd
tls_port
server_keys
echo hello >"$T/msg"

# mtls_with VAULT KTY: a client key KTY in the local VAULT, its key reference, a certificate for it made through the
# provider and registered to a service principal with a role in azkmd's vault web. Sets REF, CERT and APP.
mtls_with() {
    client key create --vault-name "$1" --name mtls --kty "$2" --curve P-256 >/dev/null || fail "client key in $1"
    REF=$T/$1-ref.pem CERT=$T/$1.crt
    client key ref --vault-name "$1" --name mtls --file "$REF" >/dev/null || fail "key ref"
    chmod 600 "$REF"
    with_provider openssl req -new -x509 -key "$REF" -subj "/CN=$1" -days 2 -addext extendedKeyUsage=clientAuth \
        -out "$CERT" || fail "certificate for the key in $1"
    APP=$("$AZKM" sp create --display-name "$1" --cert "$CERT" -o json | jq -r .appId)
    "$AZKM" role assignment create --vault-name web --role 'Key Vault Crypto User' --assignee "sp:$APP" --scope / \
        >/dev/null || fail "role assignment"
}

# signs_over VAULT: a signature through the provider with remote vault VAULT's key web-ec, verified, audited as
# the certificate's service principal.
signs_over() {
    with_provider openssl dgst -sha256 -sign "azkm://$1/keys/web-ec" -out "$T/sig" "$T/msg" || fail "sign over $1"
    openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/sig" "$T/msg" >/dev/null || fail "verify"
    audit_last | jq -e --arg sp "sp:$APP" '.operationName == "KeySign" and .identity.principals[0] == $sp and
        .identity.authenticatedBy == "ClientCertificate"' >/dev/null || fail "not signed as $APP: $(audit_last)"
}

step "a client key in a local software vault"
client vault create --name local >/dev/null || fail "vault local"
mtls_with local EC
client vault connect --name web --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" --client-cert "$CERT" \
    --client-key "$REF" >/dev/null || fail "connect with a key reference"
signs_over web
OPENSSL_CONF="$T/openssl.cnf" OPENSSL_MODULES="$AZKM_PROVIDER_DIR" client key show --vault-name web --name web-ec \
    >/dev/null || fail "the CLI with the provider loaded"
should_fail "remote vault web: azkmd at https://127.0.0.1:$PORT: GET /keys/web-ec/: the client key is a key reference file, which only a process with the azkm provider loaded \(OPENSSL_CONF\) can use" \
    client key show --vault-name web --name web-ec

step "a client key on a SoftHSM token"
client vault create --name hsmlocal --hsm-module "$HSM_MODULE" --hsm-token client-token \
    --hsm-pin-source "file:$HSM_PIN_FILE" >/dev/null || fail "vault hsmlocal"
mtls_with hsmlocal EC-HSM
client vault connect --name webhsm --remote-vault web --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" \
    --client-cert "$CERT" --client-key "$REF" >/dev/null || fail "connect with an HSM key reference"
signs_over webhsm

step "a key reference to a remote vault's key is refused"
OPENSSL_CONF="$T/openssl.cnf" OPENSSL_MODULES="$AZKM_PROVIDER_DIR" client key ref --vault-name web --name web-ec \
    --file "$T/remote-ref.pem" >/dev/null || fail "key ref of a remote key"
chmod 600 "$T/remote-ref.pem"
should_fail "remote vault loop: client key $T/remote-ref.pem refers to azkm://web/keys/web-ec, a key of a remote vault: the client key must be in a local vault" \
    client vault connect --name loop --remote-vault web --url "https://127.0.0.1:$PORT" --ca "$T/server-ca.crt" \
    --client-cert "$CERT" --client-key "$T/remote-ref.pem"
[ ! -e "$CLIENT/loop" ] || fail "a refused entry was left behind"
jq --arg k "$T/remote-ref.pem" '.client_key = $k' "$CLIENT/webhsm/remote.json" >"$T/changed.json"
cat "$T/changed.json" >"$CLIENT/webhsm/remote.json"
should_fail "remote vault webhsm: client key $T/remote-ref.pem refers to azkm://web/keys/web-ec, a key of a remote vault" \
    client key show --vault-name webhsm --name web-ec
echo "PASS"
