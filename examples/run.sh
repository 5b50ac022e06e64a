#!/bin/sh
# examples/run.sh PROGRAM...: runs each example (make run-examples), one
# line per example with what it printed, or its error and exit status; then
# "N passed, N failed". Exits 1 if one failed.
passed=0
failed=0
for program in "$@"; do
    name=$(basename "$program")
    if output=$("$program" 2>&1); then
        passed=$((passed + 1))
        printf 'PASS  %-15s %s\n' "$name" "$output"
    else
        status=$?
        failed=$((failed + 1))
        printf 'FAIL  %-15s exit %d: %s\n' "$name" "$status" "$output"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
