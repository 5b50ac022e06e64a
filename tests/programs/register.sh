# register.sh: the real-program tests, sourced by tests/run.sh (suite_run)
# with run_test, $T, $BUILD and $mode. Each test runs a real program on
# glibc and on build/libmymalloc.so (LD_PRELOAD) and compares (check.sh);
# sizes keep the five under ~90 s on 2 cores. bench/programs.sh measures
# the same workloads at larger sizes.
if [ "$mode" = normal ]; then
    run_test programs/python 300 tests/programs/check.sh python 30000
    run_test programs/sqlite 300 tests/programs/check.sh sqlite 120000
    run_test programs/gcc 300 tests/programs/check.sh gcc 10
    run_test programs/cxx 300 tests/programs/check.sh cxx 200
    run_test programs/redis 300 tests/programs/check.sh redis 20000
fi
