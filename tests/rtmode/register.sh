# tests/rtmode/register.sh: the library's real-time mode (programs from
# tests/rtmode/rules.mk), sourced by tests/run.sh with run_test, $T, $BUILD and
# $mode. About 25 s on 2 cores in normal mode. docs/REALTIME.md, "The
# library's real-time mode", says what each shows.

rtm_so=$(cd "$BUILD" 2>/dev/null && pwd)/libmymalloc-rt.so
rtm_plain_so=$(cd "$BUILD" 2>/dev/null && pwd)/libmymalloc.so
rtm_pre=(env LD_PRELOAD="$rtm_so")
# The exit report: one line, the arena's size, peak and current use, mlock.
rtm_report='^mymalloc: real-time arena: 16384 KiB, peak used [1-9][0-9]* KiB, used now [0-9]* KiB, mlock'

if [ "$mode" = normal ]; then
    # Tagged blocks on 4 threads, a third freed on another thread.
    run_test rtmode/stress 60 "${rtm_pre[@]}" "$T/rtmode/rtmode" --case=stress
    # No system call after start-up: a seccomp filter (futex, write, exit)
    # on 4 threads allocating; and the test of the test: the filter stops a
    # sched_yield, and the ordinary library (which maps pages).
    run_test rtmode/syscalls 60 "${rtm_pre[@]}" "$T/rtmode/rtmode" --case=syscalls
    run_test rtmode/syscalls-probe 60 "${rtm_pre[@]}" "$T/rtmode/rtmode" --case=syscalls \
        --probe --expect=killed
    run_test rtmode/syscalls-ordinary-library 60 env LD_PRELOAD="$rtm_plain_so" \
        "$T/rtmode/rtmode" --case=syscalls --expect=killed
    # A small arena: NULL + ENOMEM, then as many blocks again after frees.
    run_test rtmode/exhaust 60 "${rtm_pre[@]}" MYMALLOC_RT_ARENA_MB=8 "$T/rtmode/rtmode" \
        --case=exhaust
    # The arena on huge pages where the system gives them, and not when
    # MYMALLOC_HUGE_PAGES=0 (under the "madvise" setting).
    run_test rtmode/huge-pages 30 "${rtm_pre[@]}" MYMALLOC_RT_ARENA_MB=64 "$T/rtmode/rtmode" \
        --case=huge-pages
    run_test rtmode/huge-pages-off 30 "${rtm_pre[@]}" MYMALLOC_RT_ARENA_MB=64 \
        MYMALLOC_HUGE_PAGES=0 "$T/rtmode/rtmode" --case=huge-pages
    # The report at exit; an option value not understood; mlock refused
    # (no CAP_IPC_LOCK, a 64 KiB RLIMIT_MEMLOCK) is said once and the
    # library goes on.
    run_test rtmode/report 30 sh -c '
        out=$(LD_PRELOAD="$1" MYMALLOC_RT_ARENA_MB=16 "$3" --case=stress --threads=1 --ops=5000 2>&1)
        echo "$out" | grep -q "$2 ok$" || { echo "no report line: $out"; exit 1; }
        out=$(LD_PRELOAD="$1" MYMALLOC_RT_ARENA_MB=lots /bin/true 2>&1)
        echo "$out" | grep -q "MYMALLOC_RT_ARENA_MB=lots: not a size" ||
            { echo "bad value not reported: $out"; exit 1; }
        out=$(ulimit -l 64; setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock \
              env LD_PRELOAD="$1" MYMALLOC_RT_ARENA_MB=16 "$3" --case=stress --threads=1 --ops=20000 2>&1) ||
            { echo "stress with mlock refused failed: $out"; exit 1; }
        [ "$(echo "$out" | grep -c "mlock of 16 MiB refused")" = 1 ] &&
            echo "$out" | grep -q "$2 refused$" || { echo "mlock refusal not said once: $out"; exit 1; }
    ' sh "$rtm_so" "$rtm_report" "$T/rtmode/rtmode"
    # The API suite (tests/api) on the real-time library. core tries
    # alignments to 2^30 here (two blocks of each live: a 4 GiB arena), to
    # 2^32 in soak mode; stats leaves out the memory-return policy, which
    # this mode replaces by its arena (tests/rtmode/rules.mk).
    run_test rtmode/api-core 120 env MYMALLOC_RT_ARENA_MB=4096 API_ALIGN_MAX_LOG2=30 "$T/rtmode/api-core"
    run_test rtmode/api-stats 120 env MYMALLOC_RT_ARENA_MB=1024 "$T/rtmode/api-stats"
    run_test rtmode/api-std-linked 60 env MYMALLOC_RT_ARENA_MB=4096 "$T/rtmode/api-std-linked"
    run_test rtmode/api-checked 60 env MYMALLOC_RT_ARENA_MB=1024 "$T/rtmode/api-checked"
    run_test rtmode/api-verify 60 "$T/rtmode/api-verify"
    run_test rtmode/api-cxx-preload 60 "${rtm_pre[@]}" "$T/api/cxx"
    run_test rtmode/api-ctor-preload 30 "${rtm_pre[@]}" "$T/api/life" --case=ctor
    run_test rtmode/api-ctor-linked 30 "$T/rtmode/api-life-linked" --case=ctor
    run_test rtmode/api-dlopen 30 "$T/api/life" --case=dlopen "$rtm_so"
    run_test rtmode/api-threads-linked 60 "$T/rtmode/api-life-linked" --case=threads
    # Each fork copies the page tables of the whole arena: 20 forks here.
    run_test rtmode/api-fork-linked 60 "$T/rtmode/api-life-linked" --case=fork --forks=20
else
    run_test rtmode/stress-long 600 "${rtm_pre[@]}" "$T/rtmode/rtmode" --case=stress \
        --threads=8 --ops=3000000
    run_test rtmode/syscalls-long 600 "${rtm_pre[@]}" "$T/rtmode/rtmode" --case=syscalls \
        --threads=8 --ops=3000000
    run_test rtmode/api-core 300 env MYMALLOC_RT_ARENA_MB=10240 "$T/rtmode/api-core"
    run_test rtmode/api-fork-linked 300 "$T/rtmode/api-life-linked" --case=fork
fi
