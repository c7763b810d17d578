#!/usr/bin/env bash
# The keystore location comes from the provider's openssl.cnf section (keystore_dir), and AZKM_KEYSTORE_DIR
# overrides it.
. "$(dirname "$0")/lib.sh"

sed -e "s|^keystore_dir = .*|keystore_dir = $KS|" "$AZKM_CONF_SNIPPET" >own.cnf
grep -q "^keystore_dir = $KS" own.cnf || fail "could not set keystore_dir"
unset AZKM_KEYSTORE_DIR
OPENSSL_CONF=own.cnf openssl pkey -in azkm://vault1/keys/ec1 -pubout >/dev/null || fail "keystore_dir not used"
AZKM_KEYSTORE_DIR=$T/elsewhere OPENSSL_CONF=own.cnf should_fail "vault vault1 not found in $T/elsewhere" \
    openssl pkey -in azkm://vault1/keys/ec1 -pubout
echo "PASS"
