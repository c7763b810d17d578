#!/usr/bin/env bash
# stunnel 5.68 and haproxy 2.6 from Debian, run with the azkm server environment (conf/azkm-server.env, so azkm is
# loaded in the process), start with their default groups and serve TLS from a plain key file of the default
# provider, with every group they offer, exactly as without azkm; a second service of the same process serves a
# vault key through its key reference file, which shows that azkm is loaded there.
# Usage: tls_stunnel_haproxy.sh <stunnel|haproxy> <software|hsm>
. "$(dirname "$0")/lib.sh"
server=$1 tier=$2
command -v stunnel4 >/dev/null || fail "stunnel4 is not installed (scripts/setup.sh installs it)"
command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/setup.sh installs it)"

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

SERVER_PID=
stop_own_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    cleanup
}
trap stop_own_server EXIT

step "$tier vault, a certificate for web-ec, and a plain key file of the default provider"
setup_machine "$tier"
plain req -new -newkey rsa:2048 -nodes -keyout "$T/plain.key" -subj /CN=localhost -out "$T/plain.csr" 2>/dev/null
plain x509 -req -in "$T/plain.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
    -extfile "$T/san.cnf" -out "$T/plain.crt" 2>/dev/null
grep -q "BEGIN PRIVATE KEY" "$T/plain.key" || fail "no plain key"

write_stunnel_conf() {
    cat >"$T/stunnel.conf" <<EOF
foreground = yes
pid =
debug = 4
[plain]
accept = 127.0.0.1:$PLAIN_PORT
cert = $T/plain.crt
key = $T/plain.key
exec = /bin/echo
execArgs = echo served by stunnel
[vault]
accept = 127.0.0.1:$VAULT_PORT
cert = $T/etc/azkm/tls/web-ec.crt
key = $T/etc/azkm/tls/web-ec.ref.pem
exec = /bin/echo
execArgs = echo served by stunnel
EOF
}

write_haproxy_conf() {
    cat >"$T/haproxy.cfg" <<EOF
global
    log stderr format raw local0 warning
defaults
    mode http
    log global
    timeout client 10s
    timeout server 10s
    timeout connect 10s
frontend plain
    bind 127.0.0.1:$PLAIN_PORT ssl crt $T/plain.pem
    http-request return status 200 content-type text/plain string "served by haproxy"
frontend vault
    bind 127.0.0.1:$VAULT_PORT ssl crt $T/vault.pem
    http-request return status 200 content-type text/plain string "served by haproxy"
EOF
}

# start_own_server: the server on two fresh ports, up to 30 s until both listen. 1 when it exited instead.
start_own_server() {
    pick_port
    PLAIN_PORT=$PORT
    pick_port
    VAULT_PORT=$PORT
    "write_${server}_conf"
    case $server in
    stunnel) stunnel4 "$T/stunnel.conf" >"$T/logs/error.log" 2>&1 & ;;
    haproxy) haproxy -db -f "$T/haproxy.cfg" >"$T/logs/error.log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        { (exec 3<>"/dev/tcp/127.0.0.1/$PLAIN_PORT") && (exec 3<>"/dev/tcp/127.0.0.1/$VAULT_PORT"); } 2>/dev/null &&
            return 0
        sleep 0.1
    done
    fail "$server neither listens on $PLAIN_PORT and $VAULT_PORT nor exited in 30 s: $(cat "$T/logs/error.log")"
}

case $server in
stunnel)
    # stunnel's own default groups (curves = X25519:P-256:X448:P-521:P-384): none is set here.
    GROUPS_SERVED=(X25519 P-256 X448 P-521 P-384)
    ANSWER="served by stunnel"
    # echo reads nothing: the client sends nothing either, or unread bytes would make the close a reset that can
    # drop the answer
    REQUEST=""
    ;;
haproxy)
    # haproxy, unlike stunnel, never looks a provider up by name, so OpenSSL keeps its providers in the order they
    # were activated: the configuration here lists azkm first, as an administrator may well write it.
    sed -i '/^default = default_sect$/d; s/^azkm = azkm_sect$/azkm = azkm_sect\ndefault = default_sect/' "$OPENSSL_CONF"
    grep -A2 '^\[provider_sect\]' "$OPENSSL_CONF" | tail -2 | head -1 | grep -q '^azkm' || fail "could not reorder"
    # haproxy offers OpenSSL's default groups.
    GROUPS_SERVED=(P-256 P-384 P-521 X25519 X448 ffdhe2048)
    cat "$T/plain.crt" "$T/plain.key" >"$T/plain.pem"
    cat "$T/etc/azkm/tls/web-ec.crt" "$T/etc/azkm/tls/web-ec.ref.pem" >"$T/vault.pem"
    ANSWER="served by haproxy"
    REQUEST='GET / HTTP/1.0\r\n\r\n'
    ;;
*) fail "unknown server $server" ;;
esac

step "$server starts with azkm loaded (OPENSSL_CONF=$OPENSSL_CONF)"
# Another process may bind a picked port first (pick_port): a server that exits for that is started again.
for attempt in 1 2 3 4 5; do
    start_own_server && break
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    # (stunnel at debug = 4 says only "Binding service [plain] failed")
    grep -Eq "Address already in use|Binding service \[[a-z]+\] failed" "$T/logs/error.log" && [ $attempt -lt 5 ] ||
        fail "$server exited: $(cat "$T/logs/error.log")"
done

for svc in plain vault; do
    [ $svc = plain ] && PORT=$PLAIN_PORT || PORT=$VAULT_PORT
    for g in "${GROUPS_SERVED[@]}"; do
        step "$svc key, group $g"
        out=$(printf "$REQUEST" | OPENSSL_CONF=/dev/null timeout 10 openssl s_client \
            -connect "127.0.0.1:$PORT" -servername localhost -verify_hostname localhost -CAfile "$T/ca.crt" \
            -verify_return_error -groups "$g" -ign_eof 2>&1) || fail "$svc, $g: s_client failed: $out"
        grep -q "Verify return code: 0 (ok)" <<<"$out" || fail "$svc, $g: not verified: $out"
        grep -q "Server Temp Key: $(temp_key "$g")" <<<"$out" || fail "$svc, $g: not a $g key share: $out"
        grep -q "$ANSWER" <<<"$out" || fail "$svc, $g: no answer from $server: $out"
    done
done

step "no error in the $server log"
# (wait_listening's probes connect and close without TLS: stunnel logs those as "unexpected eof")
if grep -Ei 'error|invalid|fail' "$T/logs/error.log" | grep -v "unexpected eof while reading"; then
    fail "errors in the $server log"
fi
echo "PASS"
