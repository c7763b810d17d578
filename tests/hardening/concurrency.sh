#!/usr/bin/env bash
# Concurrency under load: sets up a software vault and a vault bound to a SoftHSM token (made here, in a temporary
# directory), an RSA and an EC key in each, then runs concurrency.c: signer processes x threads against a controller
# that disables, re-enables and rotates the keys. ctest provides AZKM (the CLI) and CONCURRENCY (the program).
set -euo pipefail

: "${AZKM:?}" "${CONCURRENCY:?}"
SECONDS_RUN=${AZKM_CONCURRENCY_SECONDS:-20}
M=/usr/lib/softhsm/libsofthsm2.so

T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-conc.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
export AZKM_KEYSTORE_DIR=$T/ks AZKM_TEST_OUTDIR=$T
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config XDG_DATA_HOME=$T/home/.local/share
unset AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE AZKM_AUDIT_LOG OPENSSL_CONF
mkdir -p "$HOME" tokens

printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >softhsm2.conf
export SOFTHSM2_CONF=$T/softhsm2.conf
softhsm2-util --init-token --free --label L --pin 123456 --so-pin 87654321 >/dev/null
printf 123456 >pin
chmod 600 pin

az() { "$AZKM" "$@"; }
az vault create --name soft >/dev/null
az vault create --name hsm --hsm-module "$M" --hsm-token L --hsm-pin-source "file:$T/pin" >/dev/null
kid() { az key create --vault-name "$1" --name "$2" --kty "$3" -o json | jq -r .key.kid; }
uris=(
    "$(kid soft sw-ec EC)"
    "$(kid soft sw-rsa RSA)"
    "$(kid hsm hsm-ec EC-HSM)"
    "$(kid hsm hsm-rsa RSA-HSM)"
)
printf 'pinned: %s\n' "${uris[@]}"

rc=0
"$CONCURRENCY" "$SECONDS_RUN" 3 4 "${uris[@]}" || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: concurrency exited $rc" >&2; exit 1; }

# Afterwards both vaults verify, and every key is enabled and has its rotations.
az vault verify --name soft
az vault verify --name hsm
for u in "${uris[@]}"; do
    enabled=$(az key show --id "$u" -o json | jq -r .attributes.enabled)
    [ "$enabled" = true ] || { echo "FAIL: $u left disabled" >&2; exit 1; }
    n=$(az key list-versions --id "${u%/*}" -o json | jq length)
    [ "$n" -ge 2 ] || { echo "FAIL: ${u%/*} has $n versions, expected rotations" >&2; exit 1; }
done
echo PASS
