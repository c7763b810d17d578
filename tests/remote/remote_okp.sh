#!/usr/bin/env bash
# OKP keys (Ed25519, Ed448) through a remote vault, on the tier AZKMD_TEST_TIER names: azkmd's key bundle carries
# the RFC 8037 JWK (kty OKP, crv, x: the raw public key, checked against the key's PEM); the provider loads the
# remote key and signs with pure EdDSA through azkmd (alg EdDSA, over the message), verified by openssl alone.
# TLS handshakes with a remote Ed25519 key are in remote_tls_server.sh.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
OKP=${RSA/RSA/OKP}
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"
printf 'a message signed as it is, not its digest' >"$T/msg"

for crv in Ed25519 Ed448; do
    step "$crv: the JWK azkmd shows, a signature through the provider, verified with the public key"
    "$AZKM" key create --vault-name web --name "k-$crv" --kty "$OKP" --curve "$crv" >/dev/null || fail "create $crv"
    "$AZKM" key download --vault-name web --name "k-$crv" --file "$T/$crv.pem" >/dev/null || fail "download"
    call GET "/keys/k-$crv/?api-version=$API"
    expect 200
    [ "$(field .key.kty) $(field .key.crv) $(field .key.y)" = "$OKP $crv null" ] || fail "JWK: $(cat "$T/body")"
    b64url_decode "$(field .key.x)" "$T/x.bin"
    len=$([ $crv = Ed25519 ] && echo 32 || echo 57)
    plain pkey -pubin -in "$T/$crv.pem" -outform DER | tail -c "$len" | cmp -s - "$T/x.bin" ||
        fail "x is not the raw public key"
    client key show --vault-name web --name "k-$crv" >"$T/show" || fail "key show: $(cat "$T/show")"
    grep -q "^Type  *$OKP $crv" "$T/show" || fail "key show through the remote vault: $(cat "$T/show")"
    with_provider openssl pkeyutl -sign -rawin -inkey "azkm://web/keys/k-$crv" -in "$T/msg" -out "$T/$crv.sig" ||
        fail "sign through azkmd"
    plain pkeyutl -verify -rawin -pubin -inkey "$T/$crv.pem" -in "$T/msg" -sigfile "$T/$crv.sig" >/dev/null ||
        fail "the $crv signature does not verify"
    rec=$(audit_last)
    [ "$(jq -r .operationName <<<"$rec")" = KeySign ] || fail "azkmd did not sign: $rec"
done
echo "PASS"
