#!/usr/bin/env bash
# azkm key ref writes a key reference file that the openssl CLI (with the azkm provider) loads as the vault key;
# unversioned references follow rotation, versioned ones pin a version; oct keys and unknown keys are refused.
. "$(dirname "$0")/lib.sh"
: "${AZKM_PROVIDER_DIR:?AZKM_PROVIDER_DIR must name the directory holding azkm.so}"

export OPENSSL_MODULES="$AZKM_PROVIDER_DIR"
sed "s|^keystore_dir = .*|keystore_dir = $AZKM_KEYSTORE_DIR|" "$(dirname "$0")/../../conf/azkm-provider.cnf" >"$TMP/openssl.cnf"

step "a reference to the current version follows rotation"
ok vault_create --name refs >/dev/null
ok azkm key create --vault-name refs --name web --kty $EC >/dev/null
ok azkm key ref --vault-name refs --name web --file web.ref.pem
grep -q 'BEGIN AZKM KEY REFERENCE' web.ref.pem || fail "no AZKM KEY REFERENCE block"
ok azkm key download --vault-name refs --name web --file v1.pub.pem
OPENSSL_CONF="$TMP/openssl.cnf" openssl pkey -in web.ref.pem -pubout -out got1.pem
cmp -s v1.pub.pem got1.pem || fail "the reference does not load the key's public half"
v1=$(azkm key show --vault-name refs --name web -o json | jq -r '.key.kid' | sed 's|.*/||')
ok azkm key ref --vault-name refs --name web --version "$v1" --file pinned.ref.pem
ok azkm key rotate --vault-name refs --name web >/dev/null
ok azkm key download --vault-name refs --name web --file v2.pub.pem
OPENSSL_CONF="$TMP/openssl.cnf" openssl pkey -in web.ref.pem -pubout -out got2.pem
cmp -s v2.pub.pem got2.pem || fail "the unversioned reference does not follow rotation"
OPENSSL_CONF="$TMP/openssl.cnf" openssl pkey -in pinned.ref.pem -pubout -out got3.pem
cmp -s v1.pub.pem got3.pem || fail "the versioned reference does not pin its version"

step "the reference signs like the key, and holds no secret"
echo hello >data
OPENSSL_CONF="$TMP/openssl.cnf" openssl dgst -sha256 -sign web.ref.pem -out sig data
openssl dgst -sha256 -verify v2.pub.pem -signature sig data >/dev/null || fail "signature through the reference does not verify"
openssl asn1parse -in web.ref.pem -inform PEM 2>/dev/null | grep -q 'UTF8STRING.*azkm://refs/keys/web$' || fail "body is not the URI"

step "refusals"
ok azkm key create --vault-name refs --name aes --kty $OCT >/dev/null
should_fail 2 "oct \(symmetric\) key" azkm key ref --vault-name refs --name aes
should_fail 3 "key refs/nope not found" azkm key ref --vault-name refs --name nope
should_fail 3 "vault nosuch not found" azkm key ref --vault-name nosuch --name web
echo "PASS"
