# tests/rt/register.sh: the real-time heap's tests (programs from
# tests/rt/rules.mk), sourced by tests/run.sh with run_test, $T, $mode and
# TSAN_PREFIX. About 30 s on 2 cores. tests/rt/rt_test.c says what each case
# checks.
R=$T/rt
if [ "$mode" = normal ]; then
    run_test rt/dropin-compile 60 tests/rt/dropin.sh "$BUILD/rt/mymalloc_rt.c" \
        "$BUILD/rt/mymalloc_rt.h"
    for c in basic bad sizing; do
        run_test "rt/$c" 120 "$R/rt_test" --case=$c
        run_test "rt/dropin-$c" 120 "$R/rt_test-dropin" --case=$c
    done
    run_test rt/random 120 "$R/rt_test" --case=random --ops=100000
    run_test rt/dropin-random 120 "$R/rt_test-dropin" --case=random-long --ops=1000000
    run_test rt/instructions 180 tests/rt/instr.sh "$R/rt_test-white" "$R/rt_test-dropin"
    run_test rt/pending 60 "$R/rt_test-white" --case=pending
    run_test rt/tsan-pending 60 "${TSAN_PREFIX[@]}" "$R/rt_test-white-tsan" --case=pending
    for n in 1 3; do
        run_test "rt/threads-t$n" 120 "$R/rt_test" --case=threads --threads=$n --ops=400000
        run_test "rt/tsan-threads-t$n" 120 "${TSAN_PREFIX[@]}" "$R/rt_test-tsan" \
            --case=threads --threads=$n --ops=40000
    done
    for c in basic bad; do
        run_test "rt/asan-$c" 120 "$R/rt_test-asan" --case=$c
    done
    run_test rt/asan-random 120 "$R/rt_test-asan" --case=random --ops=20000
    run_test rt/handoff-stress 60 "$R/handoff_stress" --threads=3 --ops=100000
    run_test rt/tsan-handoff-stress 60 "${TSAN_PREFIX[@]}" "$R/handoff_stress-tsan" --threads=3 \
        --ops=30000
    run_test rt/sizing-pending 60 "$R/sizing_pending"
    run_test rt/stale-pointer 30 "$R/stale_pointer"
    run_test rt/free-reuse-race 30 "$R/free_reuse_race"
else
    run_test rt/soak-handoff-stress 600 "$R/handoff_stress" --threads=3 --ops=2000000
    run_test rt/soak-random 600 "$R/rt_test-dropin" --case=random-long --ops=50000000
    run_test rt/soak-threads-t3 600 "$R/rt_test" --case=threads --threads=3 --ops=20000000
    run_test rt/soak-tsan-threads-t3 600 "${TSAN_PREFIX[@]}" "$R/rt_test-tsan" --case=threads \
        --threads=3 --ops=2000000
fi
