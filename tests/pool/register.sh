# tests/pool/register.sh: the pools' tests (programs from tests/pool/rules.mk),
# sourced by tests/run.sh with run_test, $T, $mode and TSAN_PREFIX. About
# 20 s on 2 cores. tests/pool/pool_test.c and pool_exhaust.c say what each
# case checks.
P=$T/pool
if [ "$mode" = normal ]; then
    for c in region fixed tree cycles bad placement; do
        run_test "pool/$c" 60 "$P/pool_test" --case=$c
    done
    for n in 1 2 8 32; do
        run_test "pool/threads-t$n" 60 "$P/pool_test" --case=threads --threads=$n \
            --ops=$((400000 / n))
    done
    run_test pool/exhaust 60 "$P/pool_exhaust"
    # Sanitizer builds (with assertions and lock-order checks).
    for c in region fixed tree cycles bad poison; do
        run_test "pool/asan-$c" 60 "$P/asan/pool_test" --case=$c
    done
    for c in fixed tree cycles; do
        run_test "pool/tsan-$c" 60 "${TSAN_PREFIX[@]}" "$P/tsan/pool_test" --case=$c
    done
    for n in 1 2 8 32; do
        run_test "pool/asan-threads-t$n" 60 "$P/asan/pool_test" --case=threads --threads=$n \
            --ops=$((40000 / n))
        run_test "pool/tsan-threads-t$n" 60 "${TSAN_PREFIX[@]}" "$P/tsan/pool_test" \
            --case=threads --threads=$n --ops=$((40000 / n))
    done
else
    for n in 2 8 32; do
        run_test "pool/soak-threads-t$n" 600 "$P/pool_test" --case=threads --threads=$n \
            --ops=$((40000000 / n))
        run_test "pool/soak-tsan-threads-t$n" 600 "${TSAN_PREFIX[@]}" "$P/tsan/pool_test" \
            --case=threads --threads=$n --ops=$((2000000 / n))
    done
fi
