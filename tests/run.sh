#!/usr/bin/env bash
# run.sh: runs the mymalloc test kit, one line per test:
#
#   PASS  name                          seconds  figures the test measured
#
# and ends with "N passed, N failed" alone on a line; exits non-zero if any
# test failed. Each test's output goes to $BUILD/tests/logs/NAME.log; a
# failed test's log tail is printed under its line.
#
#   tests/run.sh            the normal run (make test-run), a few minutes
#   tests/run.sh --soak     long stress of both builds (make soak), ~11 min
#   tests/run.sh PATTERN    only the tests whose name matches PATTERN (grep -E)
#
# Environment (set by tests.mk): BUILD, CC, CORE_OBJS, MODULE_OBJS, M5_C, M5_H.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
export BUILD CC=${CC:-gcc} CORE_OBJS=${CORE_OBJS:-} MODULE_OBJS=${MODULE_OBJS:-} M5_C=${M5_C:-} M5_H=${M5_H:-}
T=$BUILD/tests
LOGS=$T/logs

mode=normal
filter=
for a in "$@"; do
    case $a in
    --soak) mode=soak ;;
    *) filter=$a ;;
    esac
done

# ThreadSanitizer maps its shadow at fixed addresses; with a large
# vm.mmap_rnd_bits some kernels place libraries where it cannot cope
# ("unexpected memory mapping"). Running without address randomisation
# avoids that, so TSan tests run under `setarch -R` where it works.
TSAN_PREFIX=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
    TSAN_PREFIX=(setarch "$(uname -m)" -R)
fi
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export ASAN_OPTIONS="halt_on_error=1 exitcode=67 detect_leaks=0"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 exitcode=68"

mkdir -p "$LOGS"
passed=0
failed=0
failed_names=()

# run_test NAME TIMEOUT_SECONDS COMMAND...
run_test() {
    local name=$1 limit=$2
    shift 2
    if [ -n "$filter" ] && ! echo "$name" | grep -qE -- "$filter"; then
        return
    fi
    local log=$LOGS/${name//\//_}.log
    local start end rc secs figures status
    start=$(date +%s.%N)
    timeout -k 10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    figures=$(sed -n 's/^FIGURES: //p' "$log" | tr '\n' ' ')
    if [ "$rc" -eq 0 ]; then
        status=PASS
        passed=$((passed + 1))
    else
        status=FAIL
        failed=$((failed + 1))
        failed_names+=("$name")
        case $rc in
        124 | 137) figures="timed out after ${limit}s $figures" ;;
        66) figures="ThreadSanitizer report $figures" ;;
        67) figures="AddressSanitizer report $figures" ;;
        68) figures="UBSan report $figures" ;;
        *) [ "$rc" -gt 128 ] && figures="killed by signal $((rc - 128)) $figures" ;;
        esac
    fi
    printf '%-4s  %-30s %7ss  %s\n' "$status" "$name" "$secs" "$figures"
    if [ "$status" = FAIL ]; then
        echo "      ---- last lines of $log ----"
        tail -n 30 "$log" | sed 's/^/      | /'
    fi
}

# Steps per thread so that every thread count does about the same work.
per_thread() { echo $(($1 / $2)); }

normal_run() {
    run_test provider/selftest 120 "$T/core/provider_test"
    run_test freestanding 120 tests/check_freestanding.sh

    # Stress, library core: throughput is the median of 3 runs.
    for n in 1 2 4 8 32; do
        run_test "core/stress-t$n" 180 "$T/core/stress" --threads=$n \
            --ops="$(per_thread 800000 $n)" --runs=3
    done
    # Stress, M5 amalgamation, pthreads and raw clone() threads (3/4 of the
    # core's steps: the same code, and two kinds of thread).
    for kind in pthread clone; do
        for n in 1 2 4 8 32; do
            run_test "m5/stress-$kind-t$n" 180 "$T/m5/stress" --threads=$n \
                --ops="$(per_thread 600000 $n)" --runs=3 "--$kind"
        done
    done

    # Throughput with light tags (block ends only): mostly the allocator's
    # own cost. Same workload and checks otherwise.
    for n in 1 2 4 8 32; do
        run_test "core/bench-t$n" 120 "$T/core/stress" --threads=$n \
            --ops="$(per_thread 1000000 $n)" --runs=3 --light
    done
    for kind in pthread clone; do
        for n in 1 2 4 8 32; do
            run_test "m5/bench-$kind-t$n" 120 "$T/m5/stress" --threads=$n \
                --ops="$(per_thread 750000 $n)" --runs=3 --light "--$kind"
        done
    done

    # MM_TRUSTED_FREE: myfree without its pointer checks, the same stress
    # (and the checked frees of --api, which still judge every pointer).
    run_test trusted/stress-t4 180 "$T/trusted/stress" --threads=4 --ops=200000 --runs=1
    run_test trusted/stress-api-t4 180 "$T/trusted/stress" --threads=4 --ops=200000 --api

    # MM_REALTIME: the core of the real-time mode (bounded paths, a fixed
    # cache budget, locks that spin without yielding), with its assertions,
    # under the same stress, exhaustion and reuse as the library core.
    run_test realtime/stress-t4 180 "$T/realtime/stress" --threads=4 --ops=200000 --runs=1
    run_test realtime/stress-api-t4 180 "$T/realtime/stress" --threads=4 --ops=200000 --api
    run_test realtime/stress-t32 180 "$T/realtime/stress" --threads=32 --ops=20000 --runs=1
    run_test realtime/exhaust-cap 180 "$T/realtime/exhaust" --case=cap --threads=4
    run_test realtime/exhaust-fault 180 "$T/realtime/exhaust" --case=fault --threads=4
    run_test realtime/exhaust-sizes 120 "$T/realtime/exhaust" --case=sizes
    run_test realtime/reuse-rounds 180 "$T/realtime/reuse" --case=rounds --threads=4
    run_test realtime/reuse-threads 180 "$T/realtime/reuse" --case=threads

    # The wider core API under the same stress: checked frees (and refused
    # second frees), myrealloc moves, across threads.
    run_test core/stress-api-t4 180 "$T/core/stress" --threads=4 --ops=200000 --api
    # With the hosted library's retention (a clock): runs reuse exited
    # threads' heaps and their caches.
    run_test core/stress-retain-t4 180 "$T/core/stress" --threads=4 --ops=200000 --runs=3 --retain
    for kind in pthread clone; do
        run_test "m5/stress-api-$kind-t4" 180 "$T/m5/stress" --threads=4 --ops=200000 --api \
            "--$kind"
    done

    run_test core/exhaust-cap 180 "$T/core/exhaust" --case=cap --threads=4
    run_test core/exhaust-fault 180 "$T/core/exhaust" --case=fault --threads=4
    run_test core/exhaust-sizes 120 "$T/core/exhaust" --case=sizes
    run_test core/reuse-rounds 180 "$T/core/reuse" --case=rounds --threads=4
    run_test core/reuse-threads 180 "$T/core/reuse" --case=threads
    run_test core/reuse-large 120 "$T/core/reuse" --case=large
    run_test core/reuse-remote 120 "$T/core/reuse" --case=remote
    run_test core/reuse-metadata 60 "$T/core/reuse" --case=metadata

    for kind in pthread clone; do
        run_test "m5/exhaust-cap-$kind" 180 "$T/m5/exhaust" --case=cap --threads=4 "--$kind"
        run_test "m5/exhaust-fault-$kind" 180 "$T/m5/exhaust" --case=fault --threads=4 "--$kind"
        run_test "m5/reuse-rounds-$kind" 180 "$T/m5/reuse" --case=rounds --threads=4 "--$kind"
        run_test "m5/reuse-threads-$kind" 180 "$T/m5/reuse" --case=threads "--$kind"
        run_test "m5/reuse-remote-$kind" 120 "$T/m5/reuse" --case=remote "--$kind"
    done
    run_test m5/exhaust-sizes 120 "$T/m5/exhaust" --case=sizes
    run_test m5/reuse-large 120 "$T/m5/reuse" --case=large

    # ThreadSanitizer: shorter runs.
    for n in 2 4 8; do
        run_test "tsan/stress-t$n" 300 "${TSAN_PREFIX[@]}" "$T/tsan/stress" --threads=$n \
            --ops="$(per_thread 1000000 $n)"
    done
    for n in 2 4 8; do
        run_test "tsan-m5/stress-t$n" 300 "${TSAN_PREFIX[@]}" "$T/tsan-m5/stress" --threads=$n \
            --ops="$(per_thread 1000000 $n)"
    done

    run_test tsan/stress-api-t4 300 "${TSAN_PREFIX[@]}" "$T/tsan/stress" --threads=4 \
        --ops=250000 --api
    run_test tsan-m5/stress-api-t4 300 "${TSAN_PREFIX[@]}" "$T/tsan-m5/stress" --threads=4 \
        --ops=250000 --api
    run_test tsan/stress-retain-t4 300 "${TSAN_PREFIX[@]}" "$T/tsan/stress" --threads=4 \
        --ops=250000 --runs=2 --retain

    # AddressSanitizer + UBSan over the test code and the library core.
    run_test asan/stress-t4 300 "$T/asan/stress" --threads=4 --ops=400000
    run_test asan/stress-api-t4 300 "$T/asan/stress" --threads=4 --ops=200000 --api
    run_test asan/stress-retain-t4 300 "$T/asan/stress" --threads=4 --ops=200000 --runs=2 --retain
    run_test asan/exhaust-cap 300 "$T/asan/exhaust" --case=cap --threads=4
    run_test asan/exhaust-fault 300 "$T/asan/exhaust" --case=fault --threads=4
    run_test asan/exhaust-sizes 120 "$T/asan/exhaust" --case=sizes
    run_test asan/reuse-rounds 300 "$T/asan/reuse" --case=rounds --threads=4
    run_test asan/reuse-threads 300 "$T/asan/reuse" --case=threads

    # libFuzzer over mymalloc/myfree sequences (ASan + UBSan), a fixed seed
    # and 30 seconds; `make fuzz` runs it for 10 minutes.
    run_test fuzz/ops 120 "$T/fuzz/fuzz_ops" -seed=1 -max_total_time=30 -max_len=4096 \
        -print_final_stats=1
}

# Suites in subdirectories (tests/SUITE/register.sh) add their own tests with
# run_test; each is sourced with $mode set (normal or soak) and $T, $BUILD.
suite_run() {
    local f
    for f in tests/*/register.sh; do
        [ -f "$f" ] && . "$f"
    done
}

soak_run() {
    # 60M steps per configuration (75x the normal run), 35-65 s each at
    # 0.9-2M calls/s: 15 configurations, then 20M on the real-time core,
    # ~12 minutes on a quiet machine.
    for n in 1 2 4 8 32; do
        run_test "soak/core-stress-t$n" 900 "$T/core/stress" --threads=$n \
            --ops="$(per_thread 60000000 $n)" --seed=$RANDOM
    done
    for kind in pthread clone; do
        for n in 1 2 4 8 32; do
            run_test "soak/m5-stress-$kind-t$n" 900 "$T/m5/stress" --threads=$n \
                --ops="$(per_thread 60000000 $n)" --seed=$RANDOM "--$kind"
        done
    done
    run_test soak/realtime-stress-t8 900 "$T/realtime/stress" --threads=8 \
        --ops="$(per_thread 20000000 8)" --seed=$RANDOM
}

if [ "$mode" = soak ]; then
    soak_run
else
    normal_run
fi
suite_run

if [ "$failed" -gt 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
