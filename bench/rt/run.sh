#!/usr/bin/env bash
# bench/rt/run.sh: the real-time heap's benchmark (run by bench/run.sh with
# BUILD and QUICK set, after `make bench-build`): memory needed on traces,
# ns per malloc+free pair and cycles per call, rt against glibc and a
# TLSF-style good fit; the callgrind instruction bound per call (the test's
# tests/rt/instr.sh, if the test program is built). Writes
# $BUILD/bench/rt/results.md and prints it.
set -u
BUILD=${BUILD:-build}
QUICK=${QUICK:-}
out=$BUILD/bench/rt
bench=$out/rt_bench
mkdir -p "$out"
[ -x "$bench" ] || { echo "bench/rt/run.sh: $bench is not built (make bench-build)"; exit 1; }
args=(--waste --throughput)
[ -n "$QUICK" ] && args+=(--quick --runs=3)
{
    echo "## Real-time heap (bench/rt)"
    nice "$bench" "${args[@]}"
    if [ -x "$BUILD/tests/rt/rt_test-white" ]; then
        echo
        echo "### Instructions per call under callgrind (tests/rt/instr.sh, adversarial sequences)"
        echo
        LIMIT=150 bash tests/rt/instr.sh "$BUILD/tests/rt/rt_test-white" "$BUILD/tests/rt/rt_test-dropin" | sed 's/^/    /'
    fi
} | tee "$out/results.md"
