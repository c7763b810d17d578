#!/usr/bin/env bash
# A parent that loaded an EC P-521 and an RSA key forks 4 children, each forks a grandchild, and all sign at once,
# round after round (fork_tree_signs_at_once.c).
. "$(dirname "$0")/lib.sh"
uris=("$(hsm_key p521 EC-HSM --curve P-521)" "$(hsm_key rsa RSA-HSM)")
"$HSM_BIN/fork_tree_signs_at_once" 4 "${ROUNDS:-12}" 3 "${uris[@]}" || fail "a process failed"
echo PASS
