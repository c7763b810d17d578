#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) into build-fuzz/ and runs each for a while on a copy of
# its seed corpus. Exits non-zero if any target crashes, leaks, times out or breaks an invariant.
#   scripts/fuzz.sh [--no-build] [seconds-per-target (default 30)] [target...]
# Environment: AZKM_FUZZ_BUILD_DIR (default build-fuzz/), CC (default clang-14), AZKM_FUZZ_JOBS (parallel
# targets, default 1). Crash inputs are left in <build>/fuzz-run/<target>/; docs/fuzzing.md says what to do next.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZKM_FUZZ_BUILD_DIR:-$top/build-fuzz}

do_build=1
if [ "${1:-}" = "--no-build" ]; then
    do_build=0
    shift
fi
seconds=${1:-30}
shift || true
case $seconds in '' | *[!0-9]*) echo "fuzz.sh: seconds must be a number, not '$seconds'" >&2; exit 2 ;; esac

if [ $do_build = 1 ]; then
    cc=${CC:-clang-14}
    command -v "$cc" >/dev/null || { echo "fuzz.sh: $cc not found (scripts/setup.sh installs clang-14)" >&2; exit 2; }
    cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER="$cc" -DAZKM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DAZKM_WERROR=OFF >/dev/null
    cmake --build "$build" --target azkm_fuzz_all -j"$(nproc)"
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for t in "$top"/fuzz/fuzz_*.c; do
        t=$(basename "$t" .c)
        case $t in fuzz_util | fuzz_seedgen) continue ;; esac
        [ -x "$build/fuzz/$t" ] && targets+=("$t")
    done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz targets built in $build/fuzz" >&2; exit 2; }

# Leaks count as findings; UBSan stops at the first report (the build also sets -fno-sanitize-recover=all).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
unset AZKM_KEYSTORE_DIR AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE OPENSSL_CONF

run_one() {
    local t=$1 run=$build/fuzz-run/$1 rc=0 f regress=0
    rm -rf "$run"
    # Targets make their private keystores under TMPDIR; a crashing input skips their cleanup, so keep them here.
    mkdir -p "$run/corpus" "$run/tmp"
    # Regression inputs (crash-*: bugs found before) run one by one first, so a failure names its file; then the
    # fuzzing proper starts from the other seeds.
    for f in "$top/fuzz/corpus/$t"/*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in
        crash-*)
            if ! (cd "$run" && TMPDIR="$run/tmp" "$build/fuzz/$t" -timeout=20 -rss_limit_mb=2560 "$f" >"$run/regress-$(basename "$f").log" 2>&1)
            then
                printf '%-22s regression input still fails: %s (log %s)\n' "$t" "fuzz/corpus/$t/$(basename "$f")" \
                    "$run/regress-$(basename "$f").log"
                regress=1
            fi
            ;;
        *) cp "$f" "$run/corpus/" ;;
        esac
    done
    # -timeout: one input taking longer is a finding (a decoder that can be made to spin).
    (cd "$run" && TMPDIR="$run/tmp" "$build/fuzz/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$run/" "$run/corpus" >"$run/log" 2>&1) || rc=$?
    local execs eps
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$run/log")
    eps=$(awk '/stat::average_exec_per_sec/ {print $2}' "$run/log")
    if [ $rc -ne 0 ]; then
        printf '%-22s FAILED (exit %d) after %s runs; log %s\n' "$t" "$rc" "${execs:-?}" "$run/log"
        grep -E "^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)" "$run/log" | head -5 | sed 's/^/    /'
        ls "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-* 2>/dev/null | sed 's/^/    input: /'
        return 1
    fi
    printf '%-22s %s: %s runs, %s exec/s, corpus %s -> %s files\n' "$t" \
        "$([ $regress = 0 ] && echo ok || echo 'fuzzing clean, regressions FAIL')" "${execs:-?}" "${eps:-?}" \
        "$(ls "$top/fuzz/corpus/$t" 2>/dev/null | wc -l)" "$(ls "$run/corpus" | wc -l)"
    return $regress
}

failed=0
jobs=${AZKM_FUZZ_JOBS:-1}
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, $jobs at a time (logs in $build/fuzz-run/)"
if [ "$jobs" -le 1 ]; then
    for t in "${targets[@]}"; do run_one "$t" || failed=1; done
else
    pids=()
    for t in "${targets[@]}"; do
        run_one "$t" &
        pids+=($!)
        if [ ${#pids[@]} -ge "$jobs" ]; then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
fi
if [ $failed -ne 0 ]; then
    echo "fuzz.sh: FAILED: reproduce with <build>/fuzz/<target> <input>; keep the input as" \
        "fuzz/corpus/<target>/crash-<target>-<what> (docs/fuzzing.md)" >&2
    exit 1
fi
echo "fuzz.sh: all targets ran clean"
