#!/usr/bin/env bash
# Bulk key creation rate: `azkm key create --count N` into a fresh vault of a temporary keystore, for EC P-256
# (default) or another key type; prints N, seconds and keys/s, and the time 100,000 keys would take at that rate.
#   bash bench/bulk_fill.sh [AZKM] [N] [KTY]      # defaults: build/cli/azkm, 10000, EC
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
azkm=${1:-$top/build/cli/azkm} n=${2:-10000} kty=${3:-EC}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export AZKM_KEYSTORE_DIR=$dir
"$azkm" vault create --name fill >/dev/null
out=$("$azkm" key create --vault-name fill --name k --kty "$kty" --count "$n" -o json)
secs=$(jq -r .seconds <<<"$out")
rate=$(jq -r .keysPerSecond <<<"$out")
listing=$( { /usr/bin/time -f %e "$azkm" key list --vault-name fill -o none; } 2>&1)
printf 'bulk_fill: %s %s keys in %.1f s: %.0f keys/s; 100,000 keys at that rate: %.1f min; key list of %s: %s s\n' \
    "$n" "$kty" "$secs" "$rate" "$(echo "100000 / $rate / 60" | bc -l)" "$n" "$listing"
