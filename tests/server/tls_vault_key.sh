#!/usr/bin/env bash
# azkmd's own TLS key in a vault: tls_key as a key reference file and as an azkm: URI, loaded through the azkm
# provider (OPENSSL_CONF naming it, as docs/provider.md configures it); the handshake verifies against the CA that
# signed the vault key's certificate. Without the provider, --check-config says the key cannot be loaded.
. "$(dirname "$0")/lib.sh"

: "${AZKM_PROVIDER_DIR:?AZKM_PROVIDER_DIR must name the directory of azkm.so}"
plain() {
    OPENSSL_CONF=/dev/null OPENSSL_MODULES='' openssl "$@"
}
provider_cnf "$AZKM_KEYSTORE_DIR"

"$AZKM" key create --vault-name web --name tls --kty EC >/dev/null
plain req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=ca" -keyout "$T/ca.key" \
    -out "$T/ca.crt" 2>/dev/null
OPENSSL_CONF="$T/openssl.cnf" OPENSSL_MODULES="$AZKM_PROVIDER_DIR" \
    openssl req -new -key azkm://web/keys/tls -subj "/CN=*.$DOMAIN" -out "$T/tls.csr" || fail "CSR from the vault key"
printf 'subjectAltName=DNS:*.%s\n' "$DOMAIN" >"$T/san.cnf"
plain x509 -req -in "$T/tls.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/san.cnf" \
    -out "$T/tls.crt" 2>/dev/null
"$AZKM" key ref --vault-name web --name tls --file "$T/tls.ref.pem" >/dev/null

step "without the provider, the key reference cannot be loaded: --check-config says which setting"
write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/tls.crt" "tls_key = $T/tls.ref.pem"
rc=0
OPENSSL_CONF=/dev/null "$AZKMD" --config "$T/azkmd.conf" --check-config 2>"$T/check.err" || rc=$?
[ "$rc" = 1 ] && grep -q "^azkmd: TLS: tls_key $T/tls.ref.pem" "$T/check.err" || fail "no provider: $(cat "$T/check.err")"

for key in "$T/tls.ref.pem" azkm://web/keys/tls; do
    step "tls_key = $key: the handshake signs with the vault key"
    write_config "listen_tls = 127.0.0.1:0" "tls_certificate = $T/tls.crt" "tls_key = $key"
    export OPENSSL_CONF="$T/openssl.cnf" OPENSSL_MODULES="$AZKM_PROVIDER_DIR"
    start_azkmd
    unset OPENSSL_CONF OPENSSL_MODULES
    port=$(sed -n 's/^azkmd: listening on https:.*(port \([0-9]*\)).*/\1/p' "$T/azkmd.log")
    STATUS=$(curl -sS --max-time 10 --resolve "web.$DOMAIN:$port:127.0.0.1" --cacert "$T/ca.crt" -o "$T/body" \
        -w '%{http_code}' "https://web.$DOMAIN:$port/keys?api-version=$API") || fail "TLS handshake with $key"
    expect 401 Unauthorized
    stop_azkmd
done
echo "PASS"
