#!/usr/bin/env bash
# The token's directory is moved out of the SoftHSM token store and back (token_disappears_and_returns.c).
. "$(dirname "$0")/lib.sh"
uris=("$(hsm_key ec EC-HSM)" "$(hsm_key rsa RSA-HSM)")
dirs=("$T"/hsm/tokens/*/)
[ ${#dirs[@]} = 1 ] || fail "expected one token directory, found: ${dirs[*]}"
"$HSM_BIN/token_disappears_and_returns" "${dirs[0]%/}" "$T/away" "${uris[@]}" || fail "see above"
echo PASS
