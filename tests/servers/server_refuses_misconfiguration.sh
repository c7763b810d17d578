#!/usr/bin/env bash
# A misconfigured keyless server refuses to start, and its error log says which key and why, in azkm's words:
# not a server that starts and then fails its first handshake. The server is nginx or Apache from the shipped
# examples; the broken piece is one of:
#   vault-missing     the reference file names a vault the keystore does not have (software tier)
#   key-disabled      the key's current version is disabled (software tier)
#   key-expired       the key's current version expired (software tier)
#   token-unreadable  the vault's token store cannot be read (HSM tier: SoftHSM's tokendir is gone)
#   pin-rejected      the PIN file holds a PIN the token rejects (HSM tier)
# Usage: server_refuses_misconfiguration.sh <nginx|apache> <case>
. "$(dirname "$0")/lib.sh"
server=$1 case=$2

case $case in
vault-missing | key-disabled | key-expired) setup_machine software ;;
token-unreadable | pin-rejected) setup_machine hsm ;;
*) fail "unknown case $case" ;;
esac

step "the server starts when nothing is wrong"
start_server "$server" || fail "$server did not start: $(cat "$T/logs/start.err")"
stop_server

step "break it: $case"
case $case in
vault-missing)
    azkm vault delete --name web >/dev/null
    expect="cannot load key azkm://web/keys/web-(rsa|ec): vault web not found in $T/ks"
    ;;
key-disabled)
    azkm key set-attributes --vault-name web --name web-ec --enabled false >/dev/null
    expect="key azkm://web/keys/web-ec/[0-9a-f]{32} is disabled"
    ;;
key-expired)
    azkm key set-attributes --vault-name web --name web-rsa --expires 2001-01-01T00:00:00Z >/dev/null
    expect="key azkm://web/keys/web-rsa/[0-9a-f]{32} expired at 2001-01-01T00:00:00Z"
    ;;
token-unreadable)
    mv "$T/softhsm/tokens" "$T/softhsm/tokens.away"
    mkdir "$T/softhsm/tokens"
    expect="web-(rsa|ec).*token 'web-hsm' not found"
    ;;
pin-rejected)
    printf '0000\n' >"$T/etc/azkm/web-hsm.pin"
    expect="web-(rsa|ec).*PIN"
    ;;
esac

step "$server refuses to start"
if start_server "$server"; then
    fail "$server started with $case"
fi
log=$T/logs/error.log
[ "$server" = nginx ] || log="$T/logs/error.log $T/logs/start.err"
echo "the log says:"
# shellcheck disable=SC2086
grep -h -E ":azkm:|^azkm: " $log | cut -c1-600 || true
# nginx prints OpenSSL's error queue ("...:azkm::<reason>:<text>"); Apache's error log gets azkm's own line from
# stderr ("azkm: <text>", AZKM_ERROR_LOG=stderr in conf/azkm-server.env).
# shellcheck disable=SC2086
grep -q -E "(:azkm:|^azkm: ).*$expect" $log || fail "no azkm error matching /$expect/ in the log: $(cat $log)"
pidfile=$T/run/$([ "$server" = nginx ] && echo nginx || echo apache2).pid
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    fail "$server is running despite the error"
fi
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && fail "something listens on $PORT"
echo "PASS"
