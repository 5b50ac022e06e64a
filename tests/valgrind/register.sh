# tests/valgrind/register.sh: memcheck and ASan see mymalloc's blocks
# (programs from tests/valgrind/rules.mk), sourced by tests/run.sh with
# run_test, $T and $mode. About 20 s on 2 cores; `make valgrind` runs
# memcheck over the stresses and examples at greater length.
V=$T/valgrind
if [ "$mode" = normal ]; then
    run_test valgrind/planted 180 tests/valgrind/check.sh "$V/vg_prog"
    run_test valgrind/stress 180 env VG_LOGS="$V/logs" sh tests/valgrind/memcheck.sh \
        "$V/glibc-simple --rounds=1" "$V/larson --threads=4 --ops=40000 --rounds=4 --slots=200"
    run_test valgrind/asan-uaf 60 tests/valgrind/check_asan.sh "$V/asan_uaf"
fi
