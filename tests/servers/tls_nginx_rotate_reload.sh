#!/usr/bin/env bash
# Key rotation without touching the server's files: the reference files name the keys without a version, so after
# `azkm key rotate` and a certificate for the new version, `nginx -s reload` serves the new key (the master loads
# the references again; the new workers sign with the new version), and no key file appears on disk.
# Usage: tls_nginx_rotate_reload.sh <software|hsm>
. "$(dirname "$0")/lib.sh"
tier=$1

setup_machine "$tier"
start_server nginx || fail "nginx did not start: $(cat "$T/logs/start.err")"
for key in web-rsa web-ec; do
    [ "$(served_pubkey $key)" = "$(vault_pubkey $key)" ] || fail "$key: served key is not the vault's"
    served_pubkey $key >"$T/$key.before"
done

step "rotate both keys, issue certificates for the new versions, nginx -s reload"
cp "$T/etc/azkm/tls/web-rsa.ref.pem" "$T/ref.before"
for key in web-rsa web-ec; do
    azkm key rotate --vault-name web --name $key >/dev/null
    issue_cert $key # the CSR is signed by the current (new) version
done
# HSM tier: the new versions' token objects were made by root; the workers must be able to read them.
[ "$tier" = hsm ] && grant_token_store
cmp -s "$T/ref.before" "$T/etc/azkm/tls/web-rsa.ref.pem" || fail "the reference file changed: it should name no version"
reload_nginx || fail "nginx -s reload failed: $(tail -5 "$T/logs/error.log")"

step "the new versions are served"
for key in web-rsa web-ec; do
    new=$(vault_pubkey $key)
    for _ in $(seq 50); do
        [ "$(served_pubkey $key)" = "$new" ] && break
        sleep 0.1
    done
    [ "$(served_pubkey $key)" = "$new" ] || fail "$key: nginx still serves the old key after reload"
    [ "$new" != "$(cat "$T/$key.before")" ] || fail "$key: rotation did not change the key"
    out=$(tls_s_client $key -tls1_3) || fail "$key after reload: $out"
    grep -q "keyless TLS by azkm" <<<"$out" || fail "$key after reload: no page: $out"
    out=$(tls_curl $key --tlsv1.2 --tls-max 1.2 "https://localhost:$PORT/") || fail "$key TLS 1.2 after reload"
done

step "no private key file anywhere in the server's files"
if grep -rlE "BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY" "$T/etc" "$T/www" "$T/run" "$T/nginx" 2>/dev/null; then
    fail "a private key file is on disk"
fi
grep -L "BEGIN AZKM KEY REFERENCE" "$T"/etc/azkm/tls/*.ref.pem | grep . && fail "a .ref.pem is not a reference"
if grep -E '\[(alert|crit|emerg)\]|:azkm:' "$T/logs/error.log"; then
    fail "errors in the server log"
fi
echo "PASS"
