#!/usr/bin/env bash
# A key of a remote vault loaded without a version follows its rotation in azkmd: the entry's refresh_s is 1 here,
# so that after `azkm key rotate` in azkmd's keystore a process that keeps the key loaded (remote_driver.c) signs
# with the new version within a second, without loading it again: its signature verifies with the new version's
# public key, azkmd's audit names the new version, and a reference pinned to the old version keeps signing with it.
# Attributes follow too (sign taken out of key_ops in azkmd is refused locally after the interval); vault connect refuses a
# refresh_s out of range and writes it to remote.json.
. "$(dirname "$0")/lib.sh"
: "${REMOTE_DRIVER:?REMOTE_DRIVER must name the remote_driver program}"

write_config
start_azkmd
server_keys

step "vault connect --refresh-s: checked, written to remote.json"
should_fail "refresh-s: must be 0-86400" client vault connect --name bad --url "unix:$SOCK" --refresh-s 86401
should_fail "refresh-s: must be a number" client vault connect --name bad --url "unix:$SOCK" --refresh-s soon
client vault connect --name web --url "unix:$SOCK" --refresh-s 1 >/dev/null || fail "connect"
[ "$(jq .refresh_s "$CLIENT/web/remote.json")" = 1 ] || fail "remote.json: $(cat "$CLIENT/web/remote.json")"
client vault connect --name dflt --remote-vault web --url "unix:$SOCK" >/dev/null || fail "connect dflt"
[ "$(jq .refresh_s "$CLIENT/dflt/remote.json")" = 60 ] || fail "default refresh_s: $(cat "$CLIENT/dflt/remote.json")"
client vault connect --name always --remote-vault web --url "unix:$SOCK" --refresh-s 0 >/dev/null || fail "connect 0"
[ "$(jq .refresh_s "$CLIENT/always/remote.json")" = 0 ] || fail "refresh_s 0: $(cat "$CLIENT/always/remote.json")"
jq '.refresh_s = -1' "$CLIENT/dflt/remote.json" >"$T/r.json" && cat "$T/r.json" >"$CLIENT/dflt/remote.json"
should_fail "remote vault dflt: refresh_s -1 out of range" client key show --vault-name dflt --name web-ec

v1=$("$AZKM" key show --vault-name web --name web-ec --output json | jq -r '.key.kid | split("/") | last')
printf 'azkm rotation' >"$T/msg"
# Two drivers, each on a pair of fifos (bash runs one coproc at a time): DRV the unversioned reference, PIN $v1.
for d in DRV PIN; do mkfifo "$T/$d.in" "$T/$d.out"; done
"$REMOTE_DRIVER" "$CLIENT" azkm://web/keys/web-ec <"$T/DRV.in" >"$T/DRV.out" &
drv=$!
exec 7>"$T/DRV.in" 8<"$T/DRV.out"
"$REMOTE_DRIVER" "$CLIENT" "azkm://web/keys/web-ec/$v1" <"$T/PIN.in" >"$T/PIN.out" &
pin=$!
exec 5>"$T/PIN.in" 6<"$T/PIN.out"
DRV=(8 7) PIN=(6 5)
send() { # send DRV|PIN LINE
    local -n fds=$1
    echo "$2" >&"${fds[1]}"
    read -r -t 60 REPLY <&"${fds[0]}" || fail "the driver did not answer '$2'"
}
read -r -t 30 REPLY <&"${DRV[0]}" && [ "$REPLY" = loaded ] || fail "driver: $REPLY"
read -r -t 30 REPLY <&"${PIN[0]}" && [ "$REPLY" = loaded ] || fail "pinned driver: $REPLY"

step "before the rotation: version $v1"
send DRV "signfile $T/before.sig"
[ "$REPLY" = "ok $v1" ] || fail "signfile: $REPLY"
openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/before.sig" "$T/msg" >/dev/null || fail "verify v1"

step "azkm key rotate in azkmd: the loaded key signs with the new version within refresh_s (1 s)"
# The driver last asked before the rotation: it asks again, and switches, at most refresh_s after that.
start=$(date +%s%N)
"$AZKM" key rotate --vault-name web --name web-ec >/dev/null || fail "rotate"
v2=$("$AZKM" key show --vault-name web --name web-ec --output json | jq -r '.key.kid | split("/") | last')
[ "$v2" != "$v1" ] || fail "rotate made no new version"
"$AZKM" key download --vault-name web --name web-ec --version "$v2" --file "$T/ec2.pub.pem" >/dev/null || fail "dl v2"
for _ in $(seq 30); do
    send DRV "signfile $T/after.sig"
    [ "$REPLY" = "ok $v2" ] && break
    [ "$REPLY" = "ok $v1" ] || fail "signfile: $REPLY"
    sleep 0.1
done
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$REPLY" = "ok $v2" ] || fail "still signing with $v1 after ${elapsed} ms"
echo "switched to $v2 ${elapsed} ms after the rotation"
[ "$elapsed" -lt 2000 ] || fail "the switch took ${elapsed} ms, over refresh_s (1 s)"
openssl dgst -sha256 -verify "$T/ec2.pub.pem" -signature "$T/after.sig" "$T/msg" >/dev/null ||
    fail "the signature does not verify with the new version's public key"
if openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/after.sig" "$T/msg" >/dev/null; then
    fail "the signature verifies with the old version's public key"
fi
jq -e --arg v "$v2" 'select(.operationName == "KeySign" and .httpStatusCode == 200) |
    select(tostring | contains("/keys/web-ec/" + $v))' "$AZKM_AUDIT_LOG" >/dev/null ||
    fail "azkmd's audit has no KeySign of version $v2: $(grep KeySign "$AZKM_AUDIT_LOG" | tail -n 1)"

step "between two checks the key is not asked for again: at most one GET per refresh_s"
gets() { jq -c 'select(.operationName == "KeyGet")' "$AZKM_AUDIT_LOG" | wc -l; }
before=$(gets) start=$(date +%s%N)
for _ in $(seq 10); do
    send DRV "signfile $T/x.sig"
    [ "$REPLY" = "ok $v2" ] || fail "signfile: $REPLY"
done
elapsed=$((($(date +%s%N) - start) / 1000000))
[ $(($(gets) - before)) -le $((elapsed / 1000 + 1)) ] ||
    fail "$(($(gets) - before)) GETs of the key in $elapsed ms of signing with refresh_s 1"

step "a reference pinned to $v1 keeps signing with it"
send PIN "signfile $T/pinned.sig"
[ "$REPLY" = "ok $v1" ] || fail "pinned: $REPLY"
openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/pinned.sig" "$T/msg" >/dev/null || fail "verify pinned"

step "attributes follow too: sign taken out of the key_ops in azkmd is refused here after refresh_s"
"$AZKM" key set-attributes --vault-name web --name web-ec --ops verify >/dev/null || fail "key_ops"
sleep 1.1
send DRV "signfile $T/x.sig"
[[ "$REPLY" =~ ^error\ key\ azkm://web/keys/web-ec/$v2\ does\ not\ permit\ sign ]] || fail "no sign: $REPLY"
"$AZKM" key set-attributes --vault-name web --name web-ec --ops sign verify >/dev/null || fail "key_ops back"
send DRV refresh
[ "$REPLY" = "ok enabled=1" ] || fail "refresh: $REPLY"
send DRV "signfile $T/x.sig"
[ "$REPLY" = "ok $v2" ] || fail "sign permitted again: $REPLY"

step "rotated again: threads signing at once while one of them switches the key"
"$AZKM" key rotate --vault-name web --name web-ec >/dev/null || fail "rotate"
v3=$("$AZKM" key show --vault-name web --name web-ec --output json | jq -r '.key.kid | split("/") | last')
sleep 1.1
send DRV switch
[ "$REPLY" = ok ] || fail "switch: $REPLY"
send DRV "signfile $T/x.sig"
[ "$REPLY" = "ok $v3" ] || fail "after the threads' switch: $REPLY"

step "azkm_key_refresh follows at once: rotated again, refresh, the next signature is the fourth version"
"$AZKM" key rotate --vault-name web --name web-ec >/dev/null || fail "rotate"
v4=$("$AZKM" key show --vault-name web --name web-ec --output json | jq -r '.key.kid | split("/") | last')
send DRV refresh
send DRV "signfile $T/x.sig"
[ "$REPLY" = "ok $v4" ] || fail "after refresh: $REPLY"
echo quit >&"${DRV[1]}"
echo quit >&"${PIN[1]}"
wait "$drv" || fail "the driver exited with an error"
wait "$pin" || fail "the pinned driver exited with an error"
echo PASS
