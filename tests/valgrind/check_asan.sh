#!/bin/sh
# tests/valgrind/check_asan.sh ASAN_UAF: the core's free blocks are poisoned
# in the AddressSanitizer build (tests/valgrind/asan_uaf.c says what each
# case does). clean and header must exit 0; local and remote must stop with
# ASan's use-after-poison report on the program's line (exit 67, run.sh's
# ASAN_OPTIONS; exitcode=67 is set here too for a run by hand).
set -u
prog=$1
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1 exitcode=67 detect_leaks=0}"
failures=0
for case in clean local remote header; do
    out=$("$prog" "$case" 2>&1)
    status=$?
    case $case in
    local | remote)
        if [ "$status" -ne 0 ] && echo "$out" | grep -q "AddressSanitizer: use-after-poison" &&
            echo "$out" | grep -q "in main .*asan_uaf.c:"; then
            echo "ok   $case: $(echo "$out" | grep -m1 '^SUMMARY')"
        else
            echo "FAIL $case: no use-after-poison report (exit $status)"
            echo "$out" | tail -n 20
            failures=$((failures + 1))
        fi
        ;;
    *)
        if [ "$status" -eq 0 ]; then
            echo "ok   $case: exit 0"
        else
            echo "FAIL $case: exit $status"
            echo "$out" | tail -n 20
            failures=$((failures + 1))
        fi
        ;;
    esac
done
[ "$failures" -eq 0 ]
