#!/usr/bin/env bash
# 16 processes x 20 rounds initialise the module and log in to one SoftHSM token at the same moment, and sign
# (many_processes_log_in_at_once.c), while pkcs11-tool, a program that does not take azkm's token store lock,
# logs in to the same token again and again. PROCS and ROUNDS may be raised for a longer run.
. "$(dirname "$0")/lib.sh"
uris=("$(hsm_key ec EC-HSM)" "$(hsm_key rsa RSA-HSM)")
(
    set +e
    while [ ! -e "$T/stop" ]; do
        p11tool "$HSM_TOKEN" --list-objects >/dev/null 2>&1
        echo >>"$T/foreign"
    done
) &
foreign=$!
rc=0
"$HSM_BIN/many_processes_log_in_at_once" "${PROCS:-16}" "${ROUNDS:-20}" "${uris[@]}" || rc=$?
touch "$T/stop"
wait "$foreign" || true
echo "meanwhile pkcs11-tool logged in $(wc -l <"$T/foreign") times"
[ "$rc" = 0 ] || fail "a process failed"
echo PASS
