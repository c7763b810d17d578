#!/usr/bin/env bash
# The data plane of a remote vault through the real CLI against a real azkmd: oct keys created and imported through
# it and shown as azkmd shows them; AES-GCM encrypt/decrypt and AES key wrap/unwrap through azkmd, each result
# undone by the same command on azkmd's own keystore (and the other way round); RSA wrap with the public key here
# and unwrap through POST .../unwrapkey (a key whose key_ops are wrapKey/unwrapKey only); refusals mapped as
# locally; OKP keys created through it; OKP imports refused naming why.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"

# run WHO OP KEY ALG ARGS...: the base64 result (and for AES-GCM encryption "iv tag") of `azkm key OP` by WHO.
run() {
    local who=$1 op=$2 key=$3 alg=$4
    shift 4
    "$who" key "$op" --vault-name web --name "$key" --algorithm "$alg" "$@" --output json >"$T/r.json" ||
        fail "$who key $op $key $alg: $(cat "$T/r.json")"
    jq -r '[.result, .iv // empty, .tag // empty] | join(" ")' "$T/r.json"
}
exit_of() {
    local rc=0
    "$@" >/dev/null 2>"$T/err" || rc=$?
    echo "$rc"
}
PLAIN=$(head -c 40 /dev/urandom | base64 -w0)
CEK=$(head -c 32 /dev/urandom | base64 -w0)

step "oct keys created (256 bits) and imported (raw 16 bytes) through azkmd, shown as azkmd shows them"
client key create --vault-name web --name aes256 --kty oct --size 256 --output json >"$T/c.json" ||
    fail "create aes256: $(cat "$T/c.json")"
server key show --vault-name web --name aes256 --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "create aes256"
head -c 16 /dev/urandom >"$T/aes128.raw"
client key import --vault-name web --name aes128 --kty oct --file "$T/aes128.raw" --output json >"$T/c.json" ||
    fail "import aes128: $(cat "$T/c.json")"
server key show --vault-name web --name aes128 --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "import aes128"
client key show --vault-name web --name aes128 --output json >"$T/c.json" || fail "show aes128"
same "$T/c.json" "$T/s.json" "show aes128"
client key list --vault-name web --output json | jq -e 'length == 2' >/dev/null || fail "list"

step "AES-GCM through azkmd: what the remote vault encrypts, azkmd's keystore decrypts, and back"
read -r ct iv tag <<<"$(run client encrypt aes256 A256GCM --value "$PLAIN" --aad "$(echo -n hdr | base64)")"
[ -n "$tag" ] || fail "no tag"
[ "$(run server decrypt aes256 A256GCM --value "$ct" --iv "$iv" --tag "$tag" --aad "$(echo -n hdr | base64)")" = \
    "$PLAIN" ] || fail "azkmd's keystore does not decrypt what the remote vault encrypted"
IV=$(head -c 12 /dev/urandom | base64 -w0)
read -r ct iv tag <<<"$(run server encrypt aes256 A256GCM --value "$PLAIN" --iv "$IV")"
[ "$(run client decrypt aes256 A256GCM --value "$ct" --iv "$IV" --tag "$tag")" = "$PLAIN" ] ||
    fail "the remote vault does not decrypt what azkmd's keystore encrypted"
read -r ct2 iv2 _ <<<"$(run client encrypt aes256 A256GCM --value "$PLAIN" --iv "$IV")"
[ "$ct2 $iv2" = "$ct $IV" ] || fail "a given IV is not the one used"
bad=$(echo -n "$tag" | tr 'A-Za-z' 'B-ZAb-za')
# azkmd answers a ciphertext that does not decrypt with 400 BadParameter, which maps to AZKM_E_INVALID as every
# 400 does (locally it is AZKM_E_INTEGRITY): the message is the keystore's own.
got=$(exit_of client key decrypt --vault-name web --name aes256 --algorithm A256GCM --value "$ct" --iv "$IV" \
    --tag "$bad")
[ "$got" = 2 ] || fail "a bad tag: exit $got, not 2 (BadParameter): $(cat "$T/err")"
grep -q "POST /keys/aes256/[0-9a-f]*/decrypt answered 400 BadParameter" "$T/err" || fail "bad tag: $(cat "$T/err")"

step "AES key wrap through azkmd (A128KW, CKM_AES_KEY_WRAP_PAD), undone on azkmd's keystore and back"
w=$(run client wrap aes128 A128KW --value "$CEK")
[ "$(run server unwrap aes128 A128KW --value "$w")" = "$CEK" ] || fail "A128KW: remote wrap, server unwrap"
w=$(run server wrap aes256 CKM_AES_KEY_WRAP_PAD --value "$PLAIN")
[ "$(run client unwrap aes256 CKM_AES_KEY_WRAP_PAD --value "$w")" = "$PLAIN" ] || fail "KWP: server wrap, remote unwrap"
should_fail "POST /keys/aes256/[0-9a-f]*/wrapkey answered 400 BadParameter: .*128" \
    client key wrap --vault-name web --name aes256 --algorithm A128KW --value "$CEK"
should_fail "AES-GCM is an encrypt/decrypt algorithm" \
    client key wrap --vault-name web --name aes256 --algorithm A256GCM --value "$CEK"

step "RSA: wrap with the public key here, unwrap through POST .../unwrapkey (key_ops wrapKey/unwrapKey only)"
server key create --vault-name web --name kek --kty RSA --ops wrapKey,unwrapKey >/dev/null || fail "create kek"
w=$(run client wrap kek RSA-OAEP-256 --value "$CEK")
[ "$(run server unwrap kek RSA-OAEP-256 --value "$w")" = "$CEK" ] || fail "RSA: remote wrap, server unwrap"
w=$(run server wrap kek RSA-OAEP --value "$CEK")
[ "$(run client unwrap kek RSA-OAEP --value "$w")" = "$CEK" ] || fail "RSA: server wrap, remote unwrap"
should_fail "not permitted|does not permit|key_ops" \
    client key decrypt --vault-name web --name kek --algorithm RSA-OAEP --value "$w"
server key create --vault-name web --name rsa-enc --kty RSA --ops encrypt,decrypt >/dev/null || fail "rsa-enc"
c=$(run client encrypt rsa-enc RSA1_5 --value "$PLAIN")
[ "$(run client decrypt rsa-enc RSA1_5 --value "$c")" = "$PLAIN" ] || fail "RSA1_5 through azkmd"

step "OKP created through azkmd signs; OKP imports refused naming why"
client key create --vault-name web --name ed --kty OKP --curve Ed25519 --output json >"$T/c.json" ||
    fail "create ed: $(cat "$T/c.json")"
server key show --vault-name web --name ed --output json >"$T/s.json"
same "$T/c.json" "$T/s.json" "create ed"
echo hello >"$T/msg"
client key sign --vault-name web --name ed --algorithm EdDSA --data-file "$T/msg" --output json >"$T/sig.json" ||
    fail "sign ed: $(cat "$T/sig.json")"
openssl genpkey -algorithm ED25519 -out "$T/ed.pem" 2>/dev/null
should_fail "vault web is remote: key ed2: azkmd does not import OKP keys" \
    client key import --vault-name web --name ed2 --file "$T/ed.pem"

step "key create --count 3: three creations through azkmd, each sent once; key random through azkmd's POST /rng"
client key create --vault-name web --name bulk --kty EC --count 3 >"$T/out" 2>&1 || fail "create --count: $(cat "$T/out")"
[ "$(server key list --vault-name web --output json | jq -r '[.[].name | select(startswith("bulk-"))] | join(" ")')" = \
    "bulk-1 bulk-2 bulk-3" ] || fail "bulk keys on the server: $(server key list --vault-name web --output json)"
[ "$(jq -c 'select(.category == "AuditEvent" and .operationName == "KeyCreate" and (.key // "" | startswith("bulk-")))' \
    "$AZKM_AUDIT_LOG" | wc -l)" = 3 ] || fail "not three KeyCreate requests in azkmd's audit"
n=$(jq -c 'select(.category == "AuditEvent" and .operationName == "GetRandomBytes")' "$AZKM_AUDIT_LOG" | wc -l)
client key random --vault-name web --count 32 --output json >"$T/rnd.json" || fail "random: $(cat "$T/rnd.json")"
[ "$(jq -r .value "$T/rnd.json" | base64 -d | wc -c)" = 32 ] || fail "random: $(cat "$T/rnd.json")"
[ "$(jq -c 'select(.category == "AuditEvent" and .operationName == "GetRandomBytes")' "$AZKM_AUDIT_LOG" | wc -l)" = \
    $((n + 1)) ] || fail "key random --vault-name web did not ask azkmd"
should_fail "random bytes: 200 is not|--count" client key random --vault-name web --count 200

step "key adopt stays refused, saying where to run it"
should_fail "vault web is remote: key adopt through azkmd is not supported: it takes a PKCS#11 object of the token azkmd's vault is on; run .azkm key adopt. on azkmd's host" \
    client key adopt --vault-name web --name new --pkcs11-uri "pkcs11:id=%01"
