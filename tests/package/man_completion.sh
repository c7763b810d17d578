#!/usr/bin/env bash
# The man page azkm(1) holds every command of `azkm --help` with its `--help` text verbatim (generated from it, so
# this fails only if the generator breaks), azkm-provider(7) is there, and the bash completion completes groups,
# commands, flags, vault names and key names from a real keystore. azkmd(8) holds `azkmd --help` and every setting
# of docs/server.md's configuration table, each of which conf/azkmd.conf (the installed configuration) shows.
#   man_completion.sh AZKM MAN_DIR PACKAGING_DIR AZKMD
set -euo pipefail
azkm=$1 man=$2 pkg=$3 azkmd=$4
fail() { echo "man_completion: FAIL: $*" >&2; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
n=0
while read -r cmd; do
    grep -qF ".SS \"azkm $cmd\"" "$man/azkm.1" || fail "azkm(1) lacks 'azkm $cmd'"
    # shellcheck disable=SC2086
    first=$("$azkm" $cmd --help | sed -n 1p) # sed reads it all: head would leave azkm a SIGPIPE (pipefail)
    grep -qF -- "$first" "$man/azkm.1" || fail "azkm(1) lacks the help of 'azkm $cmd'"
    n=$((n + 1))
done < <(bash "$pkg/commands.sh" "$azkm")
[ "$n" -gt 30 ] || fail "only $n commands found in azkm --help"
grep -q '^.SH "INSTALLING AND ACTIVATING"' "$man/azkm-provider.7" || fail "azkm-provider(7) lacks its sections"
grep -q '^.SH "AZKM:// URIS"' "$man/azkm-provider.7" || fail "azkm-provider(7) lacks the URI grammar"
! grep -q 'doc-test' "$man/azkm-provider.7" || fail "azkm-provider(7) shows the doc-test markers"
grep -q 'SIGTERM' "$man/azkmd.8" || fail "azkmd(8) lacks server.md's paragraph on --check-config and SIGTERM"
while IFS= read -r line; do
    grep -qxF -- "$line" "$man/azkmd.8" || fail "azkmd(8) lacks the help line '$line'"
done < <("$azkmd" --help)
settings=$(sed -n '/^## Configuration/,/^## /p' "$pkg/../docs/server.md" | grep '^| `' | cut -d'|' -f2 |
    grep -o '`[a-z_]*' | tr -d '`')
[ "$(wc -l <<<"$settings")" -ge 15 ] || fail "docs/server.md's configuration table has only: $settings"
for s in $settings; do
    grep -qE "^\\\\fB($s([ ,]|\\\\fR)|.*, $s\\\\fR)" "$man/azkmd.8" || fail "azkmd(8) lacks the setting $s"
    grep -q "^#\?$s = " "$pkg/../conf/azkmd.conf" || fail "conf/azkmd.conf does not show the setting $s"
done

export AZKM_KEYSTORE_DIR=$d/ks
"$azkm" vault create --name compvault >/dev/null
"$azkm" key create --vault-name compvault --name compkey --kty EC >/dev/null
PATH=$(dirname "$azkm"):$PATH
# shellcheck disable=SC1091
source "$pkg/azkm.bash-completion"
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _azkm
    echo "${COMPREPLY[*]}"
}
expect() { # expect WANTED WORD...
    local want=$1 got
    shift
    got=$(complete_words "$@")
    [[ " $got " == *" $want "* ]] || fail "completing '$*' gave '$got', not '$want'"
}
expect vault azkm ""
expect version azkm ""
expect create azkm key cr
expect rotation-policy azkm key ""
expect --curve azkm key create --cu
expect --vault-name azkm key show --vault
expect compvault azkm key show --vault-name ""
expect compkey azkm key show --vault-name compvault --name ""
expect compvault azkm vault show --name ""
expect json azkm key list -o ""
expect tsv azkm key list -o ""
echo "man_completion: ok ($n commands)"
