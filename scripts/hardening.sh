#!/usr/bin/env bash
# The hardening runs of issue 7, as CI runs them after the test suite (.ci/run):
#   1. every libFuzzer target for a short smoke (its regression inputs first), scripts/fuzz.sh;
#   2. the whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer, scripts/sanitize.sh;
#   3. the provider tests under valgrind memcheck, scripts/valgrind.sh.
# Each part runs even when an earlier one failed; the script fails if any did, and says which.
#   scripts/hardening.sh [parts...]   parts: fuzz sanitize valgrind (default: all three)
# AZKM_FUZZ_SECONDS sets the seconds per fuzz target (default 30).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(fuzz sanitize valgrind)

bash "$top/scripts/setup.sh" || exit 1

failed=()
for part in "${parts[@]}"; do
    start=$(date +%s)
    echo "==== hardening: $part"
    case $part in
    fuzz) AZKM_FUZZ_JOBS=${AZKM_FUZZ_JOBS:-$(nproc)} bash "$top/scripts/fuzz.sh" "${AZKM_FUZZ_SECONDS:-30}" ;;
    sanitize) bash "$top/scripts/sanitize.sh" ;;
    valgrind) bash "$top/scripts/valgrind.sh" ;;
    *)
        echo "hardening.sh: unknown part '$part' (parts: fuzz sanitize valgrind)" >&2
        exit 2
        ;;
    esac
    rc=$?
    echo "==== hardening: $part $([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - start)) s"
    [ $rc = 0 ] || failed+=("$part")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "hardening.sh: failed: ${failed[*]}" >&2
    exit 1
fi
echo "hardening.sh: ${parts[*]}: all clean"
