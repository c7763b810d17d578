#!/usr/bin/env bash
# ctest bench_smoke: every benchmark path runs briefly and every result verifies (no speed assertions). Path 5
# (pkcs11-provider, from bookworm-backports) is skipped, and the output says so, when it is not installed.
# Usage: smoke.sh <azkm-bench> <azkm cli> <dir of azkm.so> <azkm-provider.cnf> <azkm-keystore-scale>
set -euo pipefail
bench=$1 azkm=$2 provdir=$3 azkmconf=$4 scale=$5
command -v softhsm2-util >/dev/null || { echo "SKIP: softhsm2-util not installed"; exit 77; }
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-bench-smoke.XXXXXX")
trap 'rm -rf "$T"' EXIT
bench_setup "$T" "$azkm"
export OPENSSL_MODULES=$provdir
args=(--keys "$T/keys.txt" --plain-conf "$T/plain.cnf" --azkm-conf "$azkmconf" --module "$BENCH_MODULE"
      --token "$BENCH_TOKEN" --pin-file "$BENCH_PIN_FILE" --smoke)
[ -n "$BENCH_P11PROV_CONF" ] && args+=(--p11prov-conf "$BENCH_P11PROV_CONF")
"$bench" "${args[@]}"
"$scale" "$T/scale" --sizes 50,100 --loads 50
echo PASS
