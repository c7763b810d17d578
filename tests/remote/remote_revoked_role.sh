#!/usr/bin/env bash
# A role assignment revoked in azkmd takes effect in a running nginx: examples/azkmd/keyless-setup.sh and
# examples/nginx/nginx.conf as shipped (lib.sh's keyless_setup), workers www-data serving with the keys in azkmd.
# `azkm role assignment delete` of www-data's role on web-rsa in azkmd's keystore: the next RSA handshakes fail
# (within a bounded wait) with azkmd's 403 in nginx's error log, while the EC key, whose role stays, keeps working;
# the assignment created again: RSA handshakes work again, with the same nginx master, never restarted or reloaded.
. "$(dirname "$0")/lib.sh"
keyless_setup

rsa() { get --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256; }
ecdsa() { get --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

step "nginx as shipped, workers www-data: RSA and ECDSA handshakes signed by azkmd"
start_nginx www-data
master=$(cat "$T/run/nginx.pid")
[ "$(rsa)" = "keyless TLS by azkmd" ] || fail "RSA handshake: $(cat "$T/curl.err")"
[ "$(ecdsa)" = "keyless TLS by azkmd" ] || fail "ECDSA handshake: $(cat "$T/curl.err")"

step "www-data's role on web-rsa deleted in azkmd: RSA handshakes fail, the 403 in nginx's error log"
"$AZKM" role assignment delete --vault-name web --assignee user:www-data --scope /keys/web-rsa >/dev/null ||
    fail "role assignment delete"
start=$(date +%s%N)
for _ in $(seq 50); do
    rsa >/dev/null || break
    sleep 0.1
done
if rsa >/dev/null; then fail "RSA handshakes still succeed $(ms_since "$start") ms after the role was deleted"; fi
echo "RSA handshakes refused $(ms_since "$start") ms after the role was deleted"
wait_log "POST /keys/web-rsa/[0-9a-f]{32}/sign answered 403 Forbidden" ||
    fail "nginx's error log does not name azkmd's 403: $(tail -n 5 "$T/logs/error.log")"
grep -q "uid:33" "$T/logs/error.log" || fail "nginx's error log does not name the caller, uid 33"
grep -m 1 "answered 403" "$T/logs/error.log"
[ "$(ecdsa)" = "keyless TLS by azkmd" ] || fail "ECDSA handshake (its role stays): $(cat "$T/curl.err")"

step "the role assignment created again: RSA handshakes work again, nginx neither restarted nor reloaded"
"$AZKM" role assignment create --vault-name web --role "Key Vault Crypto User" --assignee user:www-data \
    --scope /keys/web-rsa >/dev/null || fail "role assignment create"
start=$(date +%s%N)
for _ in $(seq 50); do
    [ "$(rsa)" = "keyless TLS by azkmd" ] && break
    sleep 0.1
done
[ "$(rsa)" = "keyless TLS by azkmd" ] || fail "RSA handshake after the role came back: $(cat "$T/curl.err")"
echo "RSA handshakes work again $(ms_since "$start") ms after the role was created"
[ "$(cat "$T/run/nginx.pid")" = "$master" ] || fail "nginx's master changed"
stop_nginx
echo PASS
