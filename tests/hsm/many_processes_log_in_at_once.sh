#!/usr/bin/env bash
# 16 processes x 20 rounds initialise the module and log in to one SoftHSM token at the same moment, and sign
# (many_processes_log_in_at_once.c). PROCS and ROUNDS may be raised for a longer run.
. "$(dirname "$0")/lib.sh"
uris=("$(hsm_key ec EC-HSM)" "$(hsm_key rsa RSA-HSM)")
"$HSM_BIN/many_processes_log_in_at_once" "${PROCS:-16}" "${ROUNDS:-20}" "${uris[@]}" || fail "a process failed"
echo PASS
