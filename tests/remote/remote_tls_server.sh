#!/usr/bin/env bash
# Keyless TLS through azkmd: openssl s_server whose private keys are remote keys (azkm://web/keys/..., through the
# provider on a keystore that holds only the remote vault's entry). Certificates are requested with the remote
# keys and issued by a test CA; s_client verifies the chain and completes TLS 1.3 (ECDSA P-256, RSA-PSS) and TLS 1.2
# (ECDHE-ECDSA, ECDHE-RSA) handshakes, each signature made by azkmd, and TLS 1.2 with RSA key exchange
# (AES128-GCM-SHA256), the premaster decrypted by azkmd in its TLS premaster mode; an Ed25519 key (EdDSA) signs
# TLS 1.3 and 1.2 handshakes too.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
server_keys
"$AZKM" key create --vault-name web --name web-ed --kty OKP --curve Ed25519 >/dev/null || fail "create web-ed"
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"
ca testca

# An s_server still waiting for its client when the test ends (a failure) is stopped with it.
SERVER=
trap '[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true; cleanup' EXIT

# serve KEY CERT: s_server on a free loopback port (PORT), answering one client.
serve() {
    # Emptied before the job starts: its own redirection may come after the loop below read the previous server's
    # ACCEPT line (that server's port, closed: "Connection refused", seen once on a loaded machine).
    : >"$T/s_server.log"
    with_provider openssl s_server -accept 127.0.0.1:0 -key "$1" -cert "$2" -naccept 1 -www >"$T/s_server.log" 2>&1 &
    SERVER=$!
    # Up to 30 s: under the sanitizers' full-stack mode on a loaded machine, loading the provider and the remote
    # key took over 10 s once. An s_server that exits instead is reported at once.
    for _ in $(seq 300); do
        PORT=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' "$T/s_server.log")
        [ -n "$PORT" ] && return 0
        kill -0 "$SERVER" 2>/dev/null || fail "s_server exited: $(cat "$T/s_server.log")"
        sleep 0.1
    done
    fail "s_server did not start in 30 s: $(cat "$T/s_server.log")"
}

# handshake NAME S_CLIENT-FLAGS...: a verified handshake and one HTTP exchange with the server of the last serve.
handshake() {
    printf 'GET / HTTP/1.0\r\n\r\n' | plain s_client -connect "127.0.0.1:$PORT" -servername tls.test \
        -CAfile "$T/testca.crt" -verify_return_error -verify_hostname tls.test "${@:2}" -ign_eof >"$T/$1.out" 2>&1 ||
        fail "$1: handshake failed: $(tail -n 5 "$T/$1.out"; cat "$T/s_server.log")"
    grep -q "Verify return code: 0 (ok)" "$T/$1.out" || fail "$1: not verified"
    grep -q "HTTP/1.0 200 ok" "$T/$1.out" || fail "$1: no answer"
    wait "$SERVER" 2>/dev/null || true
}

# signs [OPERATION]: how many KeySign (or OPERATION) requests azkmd has answered with 200 (its audit log).
signs() {
    jq -c "select(.category == \"AuditEvent\" and .operationName == \"${1:-KeySign}\" and .httpStatusCode == 200)" \
        "$AZKM_AUDIT_LOG" | wc -l
}

for k in web-ec web-rsa web-ed; do
    step "a certificate for remote key $k, requested with the remote key"
    with_provider openssl req -new -key "azkm://web/keys/$k" -subj "/CN=tls.test" -out "$T/$k.csr" ||
        fail "CSR signed through azkmd"
    printf 'subjectAltName=DNS:tls.test\n' >"$T/san.cnf"
    plain x509 -req -in "$T/$k.csr" -CA "$T/testca.crt" -CAkey "$T/testca.key" -CAcreateserial -days 2 \
        -extfile "$T/san.cnf" -out "$T/$k.crt" 2>/dev/null || fail "issue $k"
    step "TLS 1.3 and TLS 1.2 handshakes with $k held by azkmd"
    for v in tls1_3 tls1_2; do
        before=$(signs)
        serve "azkm://web/keys/$k" "$T/$k.crt"
        handshake "$k-$v" "-$v"
        [ "$(signs)" -gt "$before" ] || fail "$k $v: azkmd made no signature for the handshake"
    done
done
step "TLS 1.2 with RSA key exchange (AES128-GCM-SHA256): azkmd decrypts the premaster, signs nothing"
before=$(signs)
decrypts=$(signs KeyDecrypt)
serve azkm://web/keys/web-rsa "$T/web-rsa.crt"
handshake rsa-kx -tls1_2 -cipher AES128-GCM-SHA256
grep -q 'Cipher is AES128-GCM-SHA256' "$T/rsa-kx.out" || fail "not the RSA key exchange: $(grep Cipher "$T/rsa-kx.out")"
[ "$(signs KeyDecrypt)" = $((decrypts + 1)) ] && [ "$(signs)" = "$before" ] || fail "azkmd did not decrypt the premaster"
step "a key reference file of a remote key, as nginx and Apache configure it"
client key ref --vault-name web --name web-ec --file "$T/web-ec.ref.pem" >/dev/null || fail "key ref"
! grep -q PRIVATE "$T/web-ec.ref.pem" || fail "the reference holds a private key"
serve "$T/web-ec.ref.pem" "$T/web-ec.crt"
handshake ref -tls1_3
echo "PASS"
