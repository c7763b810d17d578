#!/usr/bin/env bash
# A remote vault through azkmd's Unix socket: `azkm vault connect` validates and writes the entry; key show/list,
# sign (RS256, PS384, ES256, ES384, ES512) and decrypt (RSA-OAEP, RSA-OAEP-256, RSA1_5) through the CLI and through the provider
# with openssl pkeyutl/dgst, each checked with the server-side public key by openssl alone; calls not served
# remotely yet fail naming the vault and the operation.
. "$(dirname "$0")/lib.sh"

write_config
start_azkmd
server_keys

step "vault connect writes a private entry; show and list say where the vault is"
client vault connect --name web --url "unix:$SOCK" >/dev/null || fail "connect"
[ "$(stat -c %a "$CLIENT/web")" = 700 ] && [ "$(stat -c %a "$CLIENT/web/remote.json")" = 600 ] || fail "modes"
client vault show --name web --output json >"$T/v.json" || fail "vault show"
[ "$(jq -r .properties.remote.urls[0] "$T/v.json")" = "unix:$SOCK" ] || fail "show: $(cat "$T/v.json")"
[ "$(jq -r .properties.remote.vault "$T/v.json")" = web ] || fail "show: remote vault name"
client vault list | grep -Eq "^web +remote +\(vault web at unix:$SOCK\)" || fail "list: $(client vault list)"

step "key show and list through azkmd"
client key show --vault-name web --name web-rsa --output json >"$T/k.json" || fail "key show"
[ "$(jq -r .key.kty "$T/k.json")" = RSA ] || fail "kty: $(cat "$T/k.json")"
"$AZKM" key show --vault-name web --name web-rsa --output json >"$T/k0.json"
[ "$(jq -r .key.n "$T/k.json")" = "$(jq -r .key.n "$T/k0.json")" ] || fail "modulus differs"
[ "$(jq -r .key.kid "$T/k.json")" = "$(jq -r .key.kid "$T/k0.json")" ] || fail "kid differs"
client key list --vault-name web --output json >"$T/l.json" || fail "key list"
[ "$(jq -r '[.[].name] | sort | join(" ")' "$T/l.json")" = "web-ec web-rsa" ] ||
    fail "list: $(cat "$T/l.json")"
should_fail "key .*not found|KeyNotFound" client key show --vault-name web --name missing

step "sign through the provider: pkeyutl and dgst, RSA PKCS#1, RSA-PSS and ECDSA, verified with openssl alone"
head -c 1000 /dev/urandom >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/msg.sha256"
with_provider openssl pkeyutl -sign -inkey azkm://web/keys/web-rsa -in "$T/msg.sha256" \
    -pkeyopt digest:sha256 -out "$T/rs.sig" || fail "pkeyutl RS256"
openssl pkeyutl -verify -pubin -inkey "$T/rsa.pub.pem" -in "$T/msg.sha256" -sigfile "$T/rs.sig" \
    -pkeyopt digest:sha256 >/dev/null || fail "RS256 does not verify"
with_provider openssl dgst -sha384 -sign azkm://web/keys/web-rsa -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -out "$T/ps.sig" "$T/msg" || fail "dgst PS384"
openssl dgst -sha384 -verify "$T/rsa.pub.pem" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -signature "$T/ps.sig" "$T/msg" >/dev/null || fail "PS384 does not verify"
with_provider openssl dgst -sha256 -sign azkm://web/keys/web-ec -out "$T/es.sig" "$T/msg" || fail "dgst ES256"
openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/es.sig" "$T/msg" >/dev/null ||
    fail "ES256 (DER from r||s) does not verify"

for crv in P-384:sha384 P-521:sha512; do
    "$AZKM" key create --vault-name web --name "ec-${crv%%:*}" --kty EC --curve "${crv%%:*}" >/dev/null
    "$AZKM" key download --vault-name web --name "ec-${crv%%:*}" --file "$T/ec.pem" >/dev/null
    with_provider openssl dgst "-${crv##*:}" -sign "azkm://web/keys/ec-${crv%%:*}" -out "$T/es.sig" "$T/msg" ||
        fail "dgst ${crv%%:*}"
    openssl dgst "-${crv##*:}" -verify "$T/ec.pem" -signature "$T/es.sig" "$T/msg" >/dev/null ||
        fail "${crv%%:*} does not verify"
done

step "azkm key sign and verify through the remote vault"
client key sign --vault-name web --name web-ec --algorithm ES256 --data-file "$T/msg" \
    --signature-file "$T/cli.sig" >/dev/null || fail "azkm key sign"
openssl dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/cli.sig" "$T/msg" >/dev/null || fail "CLI ES256"
client key verify --vault-name web --name web-ec --algorithm ES256 --data-file "$T/msg" \
    --signature-file "$T/cli.sig" >/dev/null || fail "azkm key verify"

step "decrypt through the provider: RSA-OAEP (SHA-1), RSA-OAEP-256, PKCS#1 v1.5"
head -c 32 /dev/urandom >"$T/secret"
openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pub.pem" -in "$T/secret" -pkeyopt rsa_padding_mode:oaep \
    -out "$T/oaep.bin"
with_provider openssl pkeyutl -decrypt -inkey azkm://web/keys/web-rsa -pkeyopt rsa_padding_mode:oaep \
    -in "$T/oaep.bin" -out "$T/oaep.out" || fail "decrypt RSA-OAEP"
cmp -s "$T/secret" "$T/oaep.out" || fail "RSA-OAEP plaintext differs"
openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pub.pem" -in "$T/secret" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -out "$T/oaep256.bin"
with_provider openssl pkeyutl -decrypt -inkey azkm://web/keys/web-rsa -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -in "$T/oaep256.bin" -out "$T/oaep256.out" || fail "decrypt RSA-OAEP-256"
cmp -s "$T/secret" "$T/oaep256.out" || fail "RSA-OAEP-256 plaintext differs"
openssl pkeyutl -encrypt -pubin -inkey "$T/rsa.pub.pem" -in "$T/secret" -pkeyopt rsa_padding_mode:pkcs1 \
    -out "$T/pkcs1.bin"
with_provider openssl pkeyutl -decrypt -inkey azkm://web/keys/web-rsa -pkeyopt rsa_padding_mode:pkcs1 \
    -in "$T/pkcs1.bin" -out "$T/pkcs1.out" || fail "decrypt RSA1_5"
cmp -s "$T/secret" "$T/pkcs1.out" || fail "RSA1_5 plaintext differs"

step "what is not served remotely yet says so, naming the vault and the operation"
should_fail "vault web is remote: key adopt through azkmd is not supported: .* run .azkm key adopt. on azkmd's host" \
    client key adopt --vault-name web --name new --pkcs11-uri "pkcs11:id=%01"
should_fail "vault web is remote: role assignment list through azkmd is not supported yet" \
    client role assignment list --vault-name web
should_fail "vault web is remote: vault verify through azkmd is not supported yet" client vault verify --name web
"$AZKM" key show --vault-name web --name web-ec >/dev/null || fail "the server's key is gone"

step "key list follows nextLink: 25 keys to a page"
for i in $(seq -w 1 25); do
    "$AZKM" key create --vault-name web --name "page-$i" --kty EC >/dev/null || fail "create page-$i"
done
n=$("$AZKM" key list --vault-name web --output json | jq length)
client key list --vault-name web --output json >"$T/l.json" || fail "key list of $n keys"
[ "$(jq length "$T/l.json")" = "$n" ] && [ "$n" -gt 25 ] || fail "listed $(jq length "$T/l.json") of $n keys"

step "rotation run over every vault passes a remote vault by; named, it is refused"
client rotation run >"$T/rot.out" || fail "rotation run: $(cat "$T/rot.out")"
grep -qx "web: remote vault (its keys rotate in azkmd): skipped" "$T/rot.out" || fail "rotation run: $(cat "$T/rot.out")"
should_fail "vault web is remote: rotation run through azkmd is not supported yet" client rotation run --vault-name web

step "vault delete removes the entry only"
client vault delete --name web || fail "delete the entry"
[ ! -e "$CLIENT/web" ] || fail "entry left"
"$AZKM" key show --vault-name web --name web-rsa >/dev/null || fail "the server's key is gone"
echo "PASS"
