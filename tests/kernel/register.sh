# tests/kernel/register.sh: the kernel allocator's tests, sourced by
# tests/run.sh with $mode (normal or soak), $T and $BUILD set. The programs
# are tests/kernel/sim.c built three ways (rules.mk); the figures are
# utilisation (fill), NULLs under over-commit against a plain buddy
# allocator (pressure), throughput by CPU count (throughput) and the static
# size of the amalgamation (amalgamation). About 35 s on 2 cores.
if [ "$mode" = normal ]; then
    K=$T/kernel
    run_test kernel/amalgamation 60 tests/kernel/check_amalgamation.sh
    run_test kernel/edges 60 "$K/sim" --case=edges --cpus=1
    # NULL while a page is free, with pages moving between CPU caches.
    run_test kernel/low-memory-c2 60 "$K/low_memory" 2 3
    run_test kernel/low-memory-c4 60 "$K/low_memory" 4 3
    for w in small pages mix; do
        run_test "kernel/$w-c8" 60 "$K/sim" --case=$w --cpus=8 --ops=100000
    done
    run_test kernel/mix-c2 60 "$K/sim" --case=mix --cpus=2 --ops=300000
    # Low memory: live bytes up to 85-95% of the heap, where what the other
    # CPUs cache must be found. (Small blocks stop at 85%: beyond about 93%
    # the free bytes may all be blocks of other classes in partly used
    # slabs, and a NULL is then right.)
    run_test kernel/small-pressure-c8 60 "$K/sim" --case=small --cpus=8 --ops=300000 \
        --slots=131072 --live-pct=85
    run_test kernel/pages-pressure-c8 60 "$K/sim" --case=pages --cpus=8 --ops=50000 --live-pct=95
    run_test kernel/mix-pressure-c8 60 "$K/sim" --case=mix --cpus=8 --ops=100000 \
        --slots=16384 --live-pct=90
    run_test kernel/mix-single-lock-c8 60 "$K/sim-single" --case=mix --cpus=8 --ops=100000 \
        --slots=16384 --live-pct=90
    # Over-commit: 8 CPUs want 1.5x and 3x the 256 MiB heap (the page module);
    # kalloc against a plain buddy allocator built from the same code.
    for oc in 150 300; do
        run_test "kernel/pressure-${oc}pct-c8" 60 "$K/sim" --case=pressure --cpus=8 --heap-mib=256 \
            --ops=100000 --overcommit-pct=$oc
    done
    run_test kernel/fill-c1 60 "$K/sim" --case=fill --cpus=1
    run_test kernel/fill-c8 60 "$K/sim" --case=fill --cpus=8 --start-kib=4092
    run_test kernel/steal-c2 60 "$K/sim" --case=steal --cpus=2
    run_test kernel/bigheap-c4 60 "$K/sim" --case=bigheap --cpus=4 --heap-mib=4096 --start-kib=12 \
        --ops=50000
    run_test kernel/cpus-64 60 "$K/sim" --case=mix --cpus=64 --ops=10000
    run_test kernel/cpu-numbers-folded 60 "$K/sim" --case=mix --cpus=8 --count=3 --ops=50000
    run_test kernel/tsan-mix-c4 120 "${TSAN_PREFIX[@]}" "$K/sim-tsan" --case=mix --cpus=4 --ops=20000
    run_test kernel/tsan-pages-pressure-c8 120 "${TSAN_PREFIX[@]}" "$K/sim-tsan" --case=pages \
        --cpus=8 --ops=5000 --live-pct=95
    run_test kernel/tsan-fill-c4 120 "${TSAN_PREFIX[@]}" "$K/sim-tsan" --case=fill --cpus=4
    run_test kernel/tsan-steal-c2 120 "${TSAN_PREFIX[@]}" "$K/sim-tsan" --case=steal --cpus=2
    # Short: races and invariants only, the NULL counts too few to compare.
    run_test kernel/tsan-pressure-c4 120 "${TSAN_PREFIX[@]}" "$K/sim-tsan" --case=pressure --cpus=4 \
        --ops=2000 --rounds=1 --overcommit-pct=300 --tolerance-pct=1000
    run_test kernel/throughput 120 tests/kernel/throughput.sh "$K"
else
    K=$T/kernel
    run_test kernel/soak-mix-c8 600 "$K/sim" --case=mix --cpus=8 --ops=5000000 \
        --slots=16384 --live-pct=90
    run_test kernel/soak-pages-c8 600 "$K/sim" --case=pages --cpus=8 --ops=2000000 --live-pct=95
    for oc in 120 150 200 300 500; do
        run_test "kernel/soak-pressure-${oc}pct-c8" 600 "$K/sim" --case=pressure --cpus=8 \
            --heap-mib=256 --ops=500000 --rounds=5 --overcommit-pct=$oc
    done
fi
