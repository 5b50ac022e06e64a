# tests/api/register.sh: the API suite (programs from tests/api/rules.mk),
# sourced by tests/run.sh with run_test, $T, $BUILD and $mode. About 30 s
# on 2 cores. Each program's header comment says what it checks.
#
# The plain programs also run on other allocators, as a check of the tests
# themselves: make test-api-ref (glibc, and jemalloc if installed).

if [ "$mode" = normal ]; then
    # LD_PRELOAD wants an absolute path (the tools test runs from /).
    api_so=$(cd "$BUILD" 2>/dev/null && pwd)/libmymalloc.so
    api_pre=(env LD_PRELOAD="$api_so")

    # The malloc family, preloaded into a plain program and linked.
    run_test api/std-preload 60 "${api_pre[@]}" "$T/api/std"
    run_test api/std-linked 60 "$T/api/std-linked"
    # The core and application API (linked with -lmymalloc).
    run_test api/core 60 "$T/api/core"
    run_test api/checked 60 "$T/api/checked"
    run_test api/stats 60 "$T/api/stats"
    run_test api/stats-no-huge-pages 60 env MYMALLOC_HUGE_PAGES=0 "$T/api/stats"
    run_test api/verify 60 "$T/api/verify"
    run_test api/env 60 "$T/api/env"
    # Life inside processes.
    run_test api/ctor-preload 30 "${api_pre[@]}" "$T/api/life" --case=ctor
    run_test api/ctor-linked 30 "$T/api/life-linked" --case=ctor
    run_test api/ctor-static 30 "$T/api/life-static" --case=ctor
    run_test api/dlopen 30 "$T/api/life" --case=dlopen "$api_so"
    run_test api/fork-preload 60 "${api_pre[@]}" "$T/api/life" --case=fork
    run_test api/fork-static 60 "$T/api/life-static" --case=fork --forks=100
    run_test api/threads-preload 60 "${api_pre[@]}" "$T/api/life" --case=threads
    run_test api/threads-linked 60 "$T/api/life-linked" --case=threads
    # C++.
    run_test api/cxx-linked 60 "$T/api/cxx-linked"
    run_test api/cxx-preload 60 "${api_pre[@]}" "$T/api/cxx"
    # Tools: mymalloc-run, make install + pkg-config.
    run_test api/mymalloc-run 60 "$T/api/tools" --case=run --build="$BUILD" --probe="$T/api/probe"
    run_test api/install 120 "$T/api/tools" --case=install --build="$BUILD" --probe="$T/api/probe"
fi
