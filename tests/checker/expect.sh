#!/bin/bash
# expect.sh CHECKER ALLOC.c EXPECT [RULES]: runs mymalloc-check (path
# CHECKER) on ALLOC.c, only RULES (comma-separated; all when absent), and
# asserts its verdicts. EXPECT is "pass" (every verdict PASS and the final
# line "N passed, 0 failed") or the name of the rule that must FAIL (the
# planted bug must be caught there; other rules may fail too). Prints the
# checker's output and a FIGURES line with the failed rules; exits 0 when
# the verdicts are as expected.
# A planted race is caught by chance (two threads must meet inside the
# unguarded window); with EXPECT_TRIES=N (default 1) the checker runs up to
# N times until the expected rule fails, and the test fails only when no
# run caught it.
set -u
[ $# -ge 3 ] || { echo "usage: expect.sh CHECKER ALLOC.c pass|RULE [RULES]" >&2; exit 2; }
checker=$1 alloc=$2 expect=$3
tries=${EXPECT_TRIES:-1}
for try in $(seq 1 "$tries"); do
    out=$("$checker" ${4:+--rules "$4"} "$alloc" 2>&1)
    rc=$?
    [ "$expect" = pass ] && break
    echo "$out" | grep -qE "^FAIL +$expect " && break
    [ "$try" -lt "$tries" ] && echo "expect: run $try did not catch the race under '$expect'; again"
done
echo "$out"
failed=$(echo "$out" | awk '$1 == "FAIL" { printf "%s ", $2 }')
echo "FIGURES: failed rules: ${failed:-none}"
summary=$(echo "$out" | tail -n 1)
case $summary in
*" passed, "*" failed") ;;
*) echo "expect: the checker did not end with 'N passed, N failed' (exit $rc)"; exit 1 ;;
esac
if [ "$expect" = pass ]; then
    if [ -n "$failed" ] || [ $rc -ne 0 ] || ! echo "$out" | grep -q '^PASS '; then
        echo "expect: a correct allocator must pass every rule run"
        exit 1
    fi
else
    if ! echo "$out" | grep -qE "^FAIL +$expect "; then
        echo "expect: the planted bug was not caught by rule '$expect'"
        exit 1
    fi
    if [ $rc -eq 0 ]; then
        echo "expect: the checker exited 0 although a rule failed"
        exit 1
    fi
fi
