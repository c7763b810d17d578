# shellcheck shell=bash
# Shared by the HSM process scenarios (sourced): a SoftHSM token store and a keystore in a temporary directory, vault
# "hsm" bound to token "azkm-procs", and hsm_key to make keys in it with the CLI. ctest provides AZKM (the CLI) and
# HSM_BIN (the directory of the scenario programs).
set -euo pipefail

: "${AZKM:?}" "${HSM_BIN:?}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-hsmproc.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
export AZKM_KEYSTORE_DIR=$T/ks HOME=$T/home XDG_CONFIG_HOME=$T/home/.config XDG_DATA_HOME=$T/home/.local/share
unset AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE AZKM_AUDIT_LOG OPENSSL_CONF AZKM_PKCS11_LOCK
mkdir -p "$HOME"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# shellcheck source=../softhsm.sh
. "$HERE/../softhsm.sh"
HSM_TOKEN=azkm-procs
softhsm_init "$T/hsm" "$HSM_TOKEN"
"$AZKM" vault create --name hsm --hsm-module "$HSM_MODULE" --hsm-token "$HSM_TOKEN" \
    --hsm-pin-source "file:$HSM_PIN_FILE" >/dev/null

# hsm_key NAME KTY [create flags...]: makes the key and prints its versioned URI.
hsm_key() {
    local name=$1 kty=$2
    shift 2
    "$AZKM" key create --vault-name hsm --name "$name" --kty "$kty" "$@" -o json | jq -r .key.kid
}
