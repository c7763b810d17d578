#!/usr/bin/env bash
# Bulk key creation rate (docs/performance.md, "Bulk key creation"): `azkm key create --count N` into a fresh vault
# of a temporary keystore, for EC P-256 (default) or another key type (an -HSM type on a throwaway SoftHSM token);
# prints N, seconds, keys/s and the time 100,000 keys take at that rate, and the time `azkm key list` takes over
# the filled vault. BULK_BASELINE=N also times N keys made one command each (the way without --count).
#   bash bench/bulk_fill.sh [AZKM] [N] [KTY]      # defaults: build/cli/azkm, 100000, EC
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
azkm=${1:-$top/build/cli/azkm} n=${2:-100000} kty=${3:-EC}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export AZKM_KEYSTORE_DIR=$dir/ks
bind=()
if [[ $kty == *-HSM ]]; then
    # shellcheck disable=SC1091
    . "$top/tests/softhsm.sh"
    softhsm_init "$dir/hsm" azkm-fill
    bind=(--hsm-module "$HSM_MODULE" --hsm-token azkm-fill --hsm-pin-source "file:$HSM_PIN_FILE")
fi
"$azkm" vault create --name fill "${bind[@]}" >/dev/null
out=$("$azkm" key create --vault-name fill --name k --kty "$kty" --count "$n" -o json)
secs=$(jq -r .seconds <<<"$out")
rate=$(jq -r .keysPerSecond <<<"$out")
listing=$( { /usr/bin/time -f %e "$azkm" key list --vault-name fill -o none; } 2>&1)
printf 'bulk_fill: %s %s keys in %.1f s: %.0f keys/s; 100,000 keys at that rate: %.1f min; key list of %s: %s s\n' \
    "$n" "$kty" "$secs" "$rate" "$(echo "100000 / $rate / 60" | bc -l)" "$n" "$listing"
if [ "${BULK_BASELINE:-0}" -gt 0 ]; then
    start=$(date +%s.%N)
    for i in $(seq "$BULK_BASELINE"); do
        "$azkm" key create --vault-name fill --name "one-$i" --kty "$kty" -o none
    done
    secs=$(echo "$(date +%s.%N) - $start" | bc -l)
    printf 'bulk_fill: one command per key: %s keys in %.1f s: %.1f keys/s; 100,000 keys: %.1f h\n' "$BULK_BASELINE" \
        "$secs" "$(echo "$BULK_BASELINE / $secs" | bc -l)" "$(echo "100000 * $secs / $BULK_BASELINE / 3600" | bc -l)"
fi
