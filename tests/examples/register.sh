# tests/examples/register.sh: runs each example of examples/ (built by
# examples/examples.mk into $BUILD/examples/), sourced by tests/run.sh with
# run_test, $BUILD and $mode. Each example checks what it shows and exits
# non-zero at the first thing that does not hold. About 3 s on 2 cores.
if [ "$mode" = normal ]; then
    for example in simple stress_single stress_threads pools ecc realtime m5_dropin kernel_dropin; do
        run_test "examples/$example" 60 "$BUILD/examples/$example"
    done
    # The concurrent stress again with more threads than cores.
    run_test examples/stress_threads-32 60 "$BUILD/examples/stress_threads" 32 20000
fi
