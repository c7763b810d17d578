#!/usr/bin/env bash
# Every `azkm key` administration command on a remote vault, through the real CLI against a real azkmd: create,
# set-attributes, rotate, list-versions, delete, list-deleted, show-deleted, recover, purge, backup, restore,
# rotation-policy show/set, import. Each result is compared with the same command run on azkmd's own keystore;
# refusals carry the local vault's exit code and azkmd's error; a request that changes the server is never sent
# twice (not to a second URL once it may have reached the first); roles decide who may administer.
. "$(dirname "$0")/lib.sh"

write_config
sed -i "s|^listen_unix = .*|listen_unix = $SOCK mode=0666|" "$T/azkmd.conf"
start_azkmd
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"

# both ARGS...: the command's JSON through the remote vault ($T/c.json) and on azkmd's keystore ($T/s.json), equal.
both() {
    client "$@" --output json >"$T/c.json" || fail "remote: $*: $(cat "$T/c.json")"
    server "$@" --output json >"$T/s.json" || fail "server: $*"
    same "$T/c.json" "$T/s.json" "$*"
}
# exit_of CMD...: its exit code.
exit_of() {
    local rc=0
    "$@" >/dev/null 2>"$T/err" || rc=$?
    echo "$rc"
}

step "create: EC with tags and key_ops, RSA-3072, an HSM-less default; the result is the server's key"
client key create --vault-name web --name ec1 --kty EC --curve P-384 --ops sign,verify --tags "team=web env=test" \
    --output json >"$T/c.json" || fail "create ec1"
server key show --vault-name web --name ec1 --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "create ec1"
[ "$(jq -r '.key.crv + " " + (.key.key_ops | join(",")) + " " + .tags.team' "$T/c.json")" = "P-384 sign,verify web" ] ||
    fail "create ec1: $(cat "$T/c.json")"
client key create --vault-name web --name rsa1 --kty RSA --size 3072 --expires 2099-01-01T00:00:00Z \
    --output json >"$T/c.json" || fail "create rsa1"
server key show --vault-name web --name rsa1 --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "create rsa1"
[ "$(server key download --vault-name web --name rsa1 --file - | openssl pkey -pubin -noout -text | sed -n 1p)" = \
    "Public-Key: (3072 bit)" ] || fail "rsa1 is not RSA-3072 on the server"

step "refusals: the local vault's exit code, azkmd's code and message, naming vault, URL and request"
server vault create --name loc >/dev/null
server key create --vault-name loc --name ec1 --kty EC >/dev/null
for cmd in "key create --name ec1 --kty EC" "key show --name nope" "key create --name bad1 --kty EC --ops encrypt" \
    "key recover --name ec1" "key set-attributes --name nope --enabled false"; do
    # shellcheck disable=SC2086
    want=$(exit_of server $cmd --vault-name loc)
    # shellcheck disable=SC2086
    got=$(exit_of client $cmd --vault-name web)
    [ "$want" != 0 ] && [ "$got" = "$want" ] || fail "$cmd: exit $got through azkmd, $want locally: $(cat "$T/err")"
    grep -Eq "remote vault web: azkmd at unix:$SOCK: [A-Z]+ /[^ ]+ answered [0-9]{3} [A-Za-z]+: ." "$T/err" ||
        fail "$cmd: $(cat "$T/err")"
done
should_fail "POST /keys/ec1/create answered 409 Conflict: key web/ec1 already exists" \
    client key create --vault-name web --name ec1 --kty EC

step "set-attributes (PATCH), current version and a named one"
client key set-attributes --vault-name web --name ec1 --enabled false --tags "team=ops" --output json >"$T/c.json" ||
    fail "set-attributes"
server key show --vault-name web --name ec1 --version "$(jq -r '.key.kid | split("/") | last' "$T/c.json")" \
    --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "set-attributes"
[ "$(jq -r '.attributes.enabled, .tags.team' "$T/s.json" | tr '\n' ' ')" = "false ops " ] || fail "not updated"
client key set-attributes --vault-name web --name rsa1 --expires none --output json >"$T/c.json" || fail "clear exp"
[ "$(server key show --vault-name web --name rsa1 --output json | jq .attributes.exp)" = null ] ||
    fail "expiry not cleared"

step "rotate (POST .../rotate), list-versions (paged) through azkmd equals the server's"
client key set-attributes --vault-name web --name ec1 --enabled true >/dev/null || fail "enable"
for _ in $(seq 26); do client key rotate --vault-name web --name ec1 >/dev/null || fail "rotate"; done
client key rotate --vault-name web --name ec1 --output json >"$T/c.json" || fail "rotate"
server key show --vault-name web --name ec1 --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "rotate"
both key list-versions --vault-name web --name ec1
[ "$(jq length "$T/c.json")" = 28 ] && [ "$(jq '[.[] | select(.current)] | length' "$T/c.json")" = 1 ] ||
    fail "list-versions: $(jq -c '[.[] | .current]' "$T/c.json")"
client key list-versions --vault-name web --name ec1 >"$T/c.txt" && server key list-versions --vault-name web \
    --name ec1 >"$T/s.txt" && cmp -s "$T/c.txt" "$T/s.txt" || fail "list-versions (table) differs"

step "delete, list-deleted, show-deleted, recover, delete again and purge"
client key delete --vault-name web --name rsa1 --output json >"$T/c.json" || fail "delete"
[ "$(jq -r '.recoveryId | split("/") | last' "$T/c.json")" = rsa1 ] || fail "delete: $(cat "$T/c.json")"
should_fail "NotFound" server key show --vault-name web --name rsa1
both key list-deleted --vault-name web
[ "$(jq -r '.[].name' "$T/c.json")" = rsa1 ] || fail "list-deleted: $(cat "$T/c.json")"
both key show-deleted --vault-name web --name rsa1
should_fail "is not a deleted key" client key show-deleted --vault-name web --name ec1
client key recover --vault-name web --name rsa1 --output json >"$T/c.json" || fail "recover"
server key show --vault-name web --name rsa1 --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "recover"
client key delete --vault-name web --name rsa1 >/dev/null || fail "delete again"
client key purge --vault-name web --name rsa1 || fail "purge"
[ "$(server key list-deleted --vault-name web --output json)" = "[]" ] || fail "purge left the key"
should_fail "DELETE /deletedkeys/rsa1 answered 404" client key purge --vault-name web --name rsa1
server key create --vault-name web --name aes1 --kty oct >/dev/null
client key delete --vault-name web --name aes1 >/dev/null || fail "delete aes1 (oct)"
server key show-deleted --vault-name web --name aes1 >/dev/null || fail "aes1 is not deleted"
client key purge --vault-name web --name aes1 || fail "purge aes1"

step "backup writes azkmd's blob where the CLI writes it; restore puts the key back"
client key backup --vault-name web --name ec1 --file "$T/ec1.bak" >/dev/null || fail "backup"
[ "$(stat -c %a "$T/ec1.bak")" = 600 ] || fail "backup file mode"
server key backup --vault-name web --name ec1 --file "$T/ec1.server.bak" >/dev/null
[ "$(head -c 8 "$T/ec1.bak")" = "$(head -c 8 "$T/ec1.server.bak")" ] || fail "not the server's backup format"
server key list-versions --vault-name web --name ec1 --output json >"$T/before.json"
client key delete --vault-name web --name ec1 >/dev/null && client key purge --vault-name web --name ec1 ||
    fail "delete and purge ec1"
printf 'AZKMBAK1 not a backup' >"$T/bad.bak"
should_fail "POST /keys/restore answered 400 BadParameter" client key restore --vault-name web --file "$T/bad.bak"
client key restore --vault-name web --file "$T/ec1.bak" --output json >"$T/c.json" || fail "restore"
server key list-versions --vault-name web --name ec1 --output json >"$T/after.json"
same "$T/before.json" "$T/after.json" "restored versions"
should_fail "POST /keys/restore answered 409" client key restore --vault-name web --file "$T/ec1.bak"

step "rotation-policy set and show (PUT/GET .../rotationpolicy)"
policy='{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P1Y"}}'
client key rotation-policy set --vault-name web --name ec1 --value "$policy" >"$T/c.json" || fail "policy set"
server key rotation-policy show --vault-name web --name ec1 >"$T/s.json"
same "$T/c.json" "$T/s.json" "policy set"
both key rotation-policy show --vault-name web --name ec1
should_fail "PUT /keys/ec1/rotationpolicy answered 400 BadParameter" \
    client key rotation-policy set --vault-name web --name ec1 --value '{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]}'
client key rotation-policy set --vault-name web --name ec1 --clear >/dev/null || fail "policy clear"
both key rotation-policy show --vault-name web --name ec1
[ "$(jq -c .lifetimeActions "$T/c.json")" = "[]" ] || fail "policy not cleared: $(cat "$T/c.json")"

step "import (PUT keys/{name} with a private JWK): RSA and EC PEM files, a new version of the same type"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/imp-rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$T/imp-ec.pem" 2>/dev/null
client key import --vault-name web --name imp --file "$T/imp-rsa.pem" --ops sign,verify --tags from=pem \
    --output json >"$T/c.json" || fail "import RSA"
server key show --vault-name web --name imp --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "import RSA"
server key download --vault-name web --name imp --file "$T/imp.pub" >/dev/null
openssl pkey -in "$T/imp-rsa.pem" -pubout | cmp -s - "$T/imp.pub" || fail "imported RSA key differs"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/imp-rsa2.pem" 2>/dev/null
client key import --vault-name web --name imp --file "$T/imp-rsa2.pem" >/dev/null || fail "import a version"
[ "$(server key list-versions --vault-name web --name imp --output json | jq length)" = 2 ] || fail "2 versions"
should_fail "PUT /keys/imp answered 409 Conflict" client key import --vault-name web --name imp --file "$T/imp-ec.pem"
client key import --vault-name web --name imp-ec --file "$T/imp-ec.pem" >/dev/null || fail "import EC"
server key download --vault-name web --name imp-ec --file "$T/imp-ec.pub" >/dev/null
openssl pkey -in "$T/imp-ec.pem" -pubout | cmp -s - "$T/imp-ec.pub" || fail "imported EC key differs"
openssl dgst -sha512 -sign "$T/imp-ec.pem" -out /dev/null "$T/imp-ec.pem" # the file is still a usable key
with_provider openssl dgst -sha512 -sign azkm://web/keys/imp-ec -out "$T/imp.sig" "$T/imp-ec.pem" ||
    fail "sign with the imported key"
openssl dgst -sha512 -verify "$T/imp-ec.pub" -signature "$T/imp.sig" "$T/imp-ec.pem" >/dev/null ||
    fail "the imported key's signature does not verify"

step "a request that changes the server is sent once: not retried, not sent to the next URL"
# Appending: the log is emptied before each command below, and the server's writes must then start at its top.
python3 "$REMOTE_DIR/garbage_server.py" "$T/junk.sock" close >>"$T/junk.log" 2>&1 &
JUNK=$!
for _ in $(seq 50); do grep -q '^ready$' "$T/junk.log" && break; sleep 0.1; done
client vault connect --name two --remote-vault web --url "unix:$T/junk.sock" "unix:$SOCK" >/dev/null ||
    fail "connect two"
client key show --vault-name two --name ec1 >/dev/null || fail "a read fails over to the second URL"
for cmd in "key create --name once1 --kty EC" "key delete --name ec1" "key rotate --name ec1" \
    "key set-attributes --name ec1 --enabled false"; do
    : >"$T/junk.log"
    # shellcheck disable=SC2086
    should_fail "azkmd at unix:$T/junk.sock: .*it was sent, so it may have been carried out" \
        client $cmd --vault-name two
    [ "$(grep -c '^request' "$T/junk.log")" = 1 ] || fail "$cmd: sent $(grep -c '^request' "$T/junk.log") times"
done
should_fail "NotFound" server key show --vault-name web --name once1
[ "$(server key list-versions --vault-name web --name ec1 --output json | jq length)" = 28 ] ||
    fail "ec1 was rotated through the second URL"
kill "$JUNK"
wait "$JUNK" 2>/dev/null || true
client vault delete --name two >/dev/null

step "roles: Key Vault Crypto User may not create or delete (403 ForbiddenByRbac); Crypto Officer may"
# as UID ARGS...: the azkm CLI as that uid, on its own keystore (a remote vault "web" on the same socket).
as() {
    local uid=$1
    shift
    setpriv --reuid="$uid" --regid="$uid" --clear-groups env AZKM_KEYSTORE_DIR="$T/ks-$uid" \
        AZKM_AUDIT_LOG="$T/ks-$uid/audit.log" HOME="$T/ks-$uid" "$AZKM" "$@"
}
for uid in 65533 65534; do
    mkdir -m 700 "$T/ks-$uid" && chown "$uid:$uid" "$T/ks-$uid"
    as "$uid" vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect as $uid"
done
server role assignment create --vault-name web --role "Key Vault Crypto User" --assignee uid:65534 --scope / \
    >/dev/null
server role assignment create --vault-name web --role "Key Vault Crypto Officer" --assignee uid:65533 --scope / \
    >/dev/null
as 65534 key show --vault-name web --name ec1 >/dev/null || fail "a Crypto User reads keys"
for cmd in "key create --name user1 --kty EC" "key delete --name ec1" "key rotate --name ec1"; do
    # shellcheck disable=SC2086
    rc=$(exit_of as 65534 $cmd --vault-name web)
    [ "$rc" = 4 ] || fail "$cmd as a Crypto User: exit $rc, not 4 (forbidden)"
    grep -q "answered 403 Forbidden: .*uid:65534" "$T/err" || fail "$cmd as a Crypto User: $(cat "$T/err")"
done
should_fail "NotFound" server key show --vault-name web --name user1
as 65533 key create --vault-name web --name officer1 --kty EC >/dev/null || fail "a Crypto Officer creates"
as 65533 key delete --vault-name web --name officer1 >/dev/null || fail "a Crypto Officer deletes"
[ "$(server key list-deleted --vault-name web --output json | jq -r '.[].name')" = officer1 ] ||
    fail "officer1 is not deleted on the server"
echo "PASS"
