#!/usr/bin/env bash
# A worker that cannot read one key's file in the token store (worker_cannot_read_a_key_file.c): the token store is
# handed to the worker user, then root makes one more key, whose file only root can read.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "the worker changes user: run as root"
user=nobody
readable=$(hsm_key readable EC-HSM)
chmod 711 "$T" "$T/hsm"
chmod 644 "$SOFTHSM2_CONF"
chown -R "$user" "$T/hsm/tokens"
hidden=$(hsm_key made-by-root RSA-HSM)
"$HSM_BIN/worker_cannot_read_a_key_file" "$user" "$T/hsm/tokens" "$readable" "$hidden" || fail "see above"
echo PASS
