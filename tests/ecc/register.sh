# tests/ecc/register.sh: protected memory's tests, sourced by tests/run.sh
# with $mode (normal or soak), $T and $BUILD set (programs: rules.mk).
# Normal mode, about 25 s on 2 cores: the module's objects need no libc; the
# codec against its reference; the public calls, flips aimed at every bit of
# storage and metadata, the scrubber thread and threads with an in-process
# flipper, plain, under ThreadSanitizer and under AddressSanitizer + UBSan;
# and the external injector: 30000 flips into a running workload. Soak mode
# (make ecc-soak, or make soak): 1.025 million flips (over 10^6 of them
# single), and longer thread runs (about 8 minutes).
E=$T/ecc
if [ "$mode" = normal ]; then
    run_test ecc/freestanding 30 tests/ecc/check_symbols.sh
    run_test ecc/codec 60 "$E/codec"
    run_test ecc/api 120 "$E/api" --seconds=3
    run_test ecc/api-tsan 180 "${TSAN_PREFIX[@]}" "$E/api-tsan" --seconds=2
    run_test ecc/api-asan 180 "$E/api-asan" --seconds=2
    run_test ecc/inject 120 "$BUILD/ecc-inject" --flips=30000 --rate=5000 --seed=1 \
        --log="$LOGS/ecc_inject_flips.log" -- "$E/workload" --workers=2
else
    run_test ecc/soak-inject 1800 "$BUILD/ecc-inject" --flips=1025000 --rate=5000 --batch=64 \
        --seed=$RANDOM -- "$E/workload" --workers=2
    run_test ecc/soak-inject-4 900 "$BUILD/ecc-inject" --flips=200000 --rate=5000 --batch=64 \
        --doubles=50 --metadata=40 --seed=$RANDOM -- "$E/workload" --workers=4 --blocks=40
    run_test ecc/soak-threads 300 "$E/api" --case=threads --seconds=60
    run_test ecc/soak-threads-tsan 300 "${TSAN_PREFIX[@]}" "$E/api-tsan" --case=threads --seconds=30
fi
