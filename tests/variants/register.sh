# tests/variants/register.sh: each build variant of docs/BUILD.md's table,
# built by tests/variants/rules.mk into $T/variants/NAME/, and its smoke
# test (the programs' headers say what each check shows); the drop-ins'
# variants first have their undefined symbols checked. Then the CMake
# package (cmake_package.sh), make bench's handling of missing peers
# (bench_peers.sh) and a build of the library without valgrind's headers
# (no_valgrind_headers.sh). Sourced by tests/run.sh with run_test, $T, $BUILD and
# $mode. About 15 s on 2 cores; the soak repeats the racing ones (about
# 2 minutes).
VT=$T/variants
# `lib` and `lib-realtime` are the Makefile's own objects, which `make
# debug-test` builds with MM_DEBUG: their assertions are then checked as on.
vt_assertions() {
    if nm "$1" 2>/dev/null | grep -q " T mm_prim_assert_failed$"; then echo debug; else echo release; fi
}
if [ "$mode" = normal ]; then
    run_test variants/lib 60 "$VT/lib/core_smoke" --checks="$(vt_assertions "$VT/lib/libmymalloc.a"),judged"
    run_test variants/lib-debug 60 "$VT/lib-debug/core_smoke" --checks=debug,judged
    run_test variants/lib-trusted 60 "$VT/lib-trusted/core_smoke" --checks=release,trusted
    run_test variants/lib-realtime 60 env MYMALLOC_RT_ARENA_MB=96 "$VT/lib-realtime/core_smoke" \
        --checks="$(vt_assertions "$VT/lib-realtime/libmymalloc.a"),judged,realtime"
    for v in m5:release,judged m5-debug:debug,judged m5-trusted:release,trusted; do
        run_test "variants/${v%%:*}" 60 sh -c 'tests/variants/dropin_symbols.sh "$1/mymalloc.o" "vmalloc|vmfree" &&
            "$1/core_smoke" --checks="$2"' sh "$VT/${v%%:*}" "${v#*:}"
    done
    # The kernel drop-in needs the two CPU hooks, and the hooks its macros name.
    for v in kernel:parallel,slabs: kernel-single-lock:serial,slabs: kernel-buddy-only:buddy: \
        kernel-irq-hooks:irq,parallel,slabs:vt_irq_save\|vt_irq_restore \
        kernel-debug:debug,parallel:vt_assert_failed; do
        vt_name=${v%%:*} vt_rest=${v#*:}
        vt_checks=${vt_rest%%:*} vt_hooks=${vt_rest#*:}
        run_test "variants/$vt_name" 60 sh -c 'tests/variants/dropin_symbols.sh "$1/kalloc.o" \
            "kalloc_cpu_current|kalloc_cpu_count${3:+|$3}" && "$1/kernel_smoke" --checks="$2"' \
            sh "$VT/$vt_name" "$vt_checks" "$vt_hooks"
    done
    for v in rt:dropin rt-debug:debug; do
        run_test "variants/${v%%:*}" 60 sh -c 'tests/variants/dropin_symbols.sh "$1/mymalloc_rt.o" "" &&
            "$1/rt_smoke" --checks="$2"' sh "$VT/${v%%:*}" "${v#*:}"
    done
    run_test variants/rt-library 60 "$VT/rt-library/rt_smoke" --checks=library
    run_test variants/ecc-secded 60 "$VT/ecc-secded/ecc_smoke" --expect=secded
    run_test variants/ecc-tmr 60 "$VT/ecc-tmr/ecc_smoke" --expect=tmr
    run_test variants/ecc-off 60 "$VT/ecc-off/ecc_smoke" --expect=plain
    run_test variants/cmake-package 120 tests/variants/cmake_package.sh
    run_test variants/bench-peers 60 tests/variants/bench_peers.sh
    run_test variants/no-valgrind-headers 60 tests/variants/no_valgrind_headers.sh "$CC"
else
    # The smoke tests whose checks race (the kernel's CPU probe, the
    # exchanges' cross-thread frees), 30 times each.
    for v in lib-debug/core_smoke:debug,judged m5-debug/core_smoke:debug,judged \
        kernel/kernel_smoke:parallel kernel-single-lock/kernel_smoke:serial \
        kernel-debug/kernel_smoke:debug rt-debug/rt_smoke:debug; do
        run_test "variants/soak-${v%%/*}" 600 sh -c 'for i in $(seq 30); do
            "$1" --checks="$2" >/dev/null || { echo "run $i failed"; "$1" --checks="$2"; exit 1; }
        done' sh "$VT/${v%%:*}" "${v#*:}"
    done
fi
