#!/usr/bin/env bash
# Loading azkm changes nothing for keys that are not azkm's: openssl s_server and s_client, both with azkm loaded
# (-provider azkm -provider default in either order, the shipped snippet, the snippet plus default_properties),
# complete TLS handshakes with every group: P-256, P-384, P-521, X25519, X448 and ffdhe2048, with a key file of
# the default provider; and a server holding a vault key (this test's tier) does the same.
. "$(dirname "$0")/lib.sh"

GROUPS_ALL=(P-256 P-384 P-521 X25519 X448 ffdhe2048)
# what s_client says about the server's ephemeral key, per group
temp_key() {
    case $1 in
    P-256) echo "ECDH, prime256v1" ;;
    P-384) echo "ECDH, secp384r1" ;;
    P-521) echo "ECDH, secp521r1" ;;
    X25519 | X448) echo "$1" ;;
    ffdhe2048) echo "DH, 2048 bits" ;;
    esac
}

make_ca
plain req -new -newkey rsa:2048 -nodes -keyout plain.key -subj /CN=localhost -out plain.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
plain x509 -req -in plain.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out plain.crt \
    2>/dev/null
issue_cert azkm://vault1/keys/ec1 vault.crt

# The shipped snippet with default_properties added, as older azkm documentation asked for.
{
    sed 's/^providers = provider_sect$/providers = provider_sect\nalg_section = evp_props/' "$AZKM_CONF_SNIPPET"
    printf '\n[evp_props]\ndefault_properties = ?provider=default\n'
} >snippet-props.cnf
grep -q "^alg_section = evp_props" snippet-props.cnf || fail "could not make the default_properties variant"

# route <name>: how azkm is loaded, as the environment and options of an openssl command (ROUTE_ENV, ROUTE_OPTS)
route() {
    case $1 in
    azkm-first) ROUTE_ENV=(OPENSSL_CONF=/dev/null) ROUTE_OPTS=(-provider azkm -provider default) ;;
    default-first) ROUTE_ENV=(OPENSSL_CONF=/dev/null) ROUTE_OPTS=(-provider default -provider azkm) ;;
    snippet) ROUTE_ENV=(OPENSSL_CONF="$AZKM_CONF_SNIPPET") ROUTE_OPTS=() ;;
    snippet-props) ROUTE_ENV=(OPENSSL_CONF="$T/snippet-props.cnf") ROUTE_OPTS=() ;;
    esac
}

# serve <route> <key> <cert>: s_server (azkm loaded by the route) for one handshake per group, each checked by an
# s_client loaded the same way.
serve() {
    local name=$1 key=$2 cert=$3 port= g out
    route "$name"
    # Emptied here, not only by the background job's redirection: that one may happen after the loop below has read
    # the previous server's ACCEPT line (and its port, closed since).
    : >server.log
    env "${ROUTE_ENV[@]}" openssl s_server "${ROUTE_OPTS[@]}" -accept 127.0.0.1:0 -naccept ${#GROUPS_ALL[@]} \
        -key "$key" -cert "$cert" -www >server.log 2>&1 &
    for _ in $(seq 300); do
        port=$(grep -o 'ACCEPT 127.0.0.1:[0-9]*' server.log | cut -d: -f2 || true)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || fail "$name: s_server did not start: $(cat server.log)"
    for g in "${GROUPS_ALL[@]}"; do
        out=$(printf 'GET / HTTP/1.0\r\n\r\n' | env "${ROUTE_ENV[@]}" timeout 30 openssl s_client "${ROUTE_OPTS[@]}" \
            -connect "127.0.0.1:$port" -servername localhost -verify_hostname localhost -CAfile ca.crt \
            -verify_return_error -groups "$g" -ign_eof 2>&1) ||
            fail "$name, $key, $g: s_client failed: $out / server: $(cat server.log)"
        grep -q "Server Temp Key: $(temp_key "$g")" <<<"$out" || fail "$name, $key, $g: not a $g key share: $out"
        grep -q "HTTP/1.0 200 ok" <<<"$out" || fail "$name, $key, $g: no HTTP answer: $out"
    done
    wait || fail "$name: s_server failed: $(cat server.log)"
    echo "ok: $name, $key: ${GROUPS_ALL[*]}"
}

for r in azkm-first default-first snippet snippet-props; do
    serve "$r" plain.key plain.crt
done
serve azkm-first azkm://vault1/keys/ec1 vault.crt
serve snippet azkm://vault1/keys/ec1 vault.crt
echo "PASS"
