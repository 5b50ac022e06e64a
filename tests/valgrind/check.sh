#!/bin/sh
# tests/valgrind/check.sh VG_PROG: memcheck sees mymalloc's blocks. Runs
# tests/valgrind/vg_prog.c (linked with build/libmymalloc.a) under memcheck
# and checks the report of each case: the clean program reports nothing
# (with mymalloc's malloc family, and with memcheck's own, its default); each
# planted bug is reported with the right kind, block and size, attributed to
# the program's line, and nothing else is (the error count is exact, so a
# report of mymalloc's own metadata reads fails the test). Exits 0 when all
# hold. About 10 s.
set -u
prog=$1
if ! command -v valgrind >/dev/null 2>&1; then
    echo "check.sh: valgrind not found (Debian: apt-get install valgrind)"
    exit 1
fi
logs=$(dirname "$prog")/logs
mkdir -p "$logs"
failures=0
figures=

# expect MODE CASE ERRORS PATTERN...: run the case, then check memcheck's
# error count and that each fixed-string pattern is in its report.
expect() {
    mode=$1 case=$2 errors=$3
    shift 3
    log=$logs/$case-$mode.log
    if [ "$mode" = own ]; then
        valgrind --soname-synonyms=somalloc=nouserintercepts --leak-check=full "$prog" "$case" >"$log" 2>&1
    else
        valgrind --leak-check=full "$prog" "$case" >"$log" 2>&1
    fi
    status=$?
    found=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log")
    figures="$figures $case-$mode=${found:-none}"
    problem=
    [ "$status" -eq 0 ] || problem="exit status $status"
    [ "$found" = "$errors" ] || problem="$problem; $errors errors expected, memcheck found ${found:-none}"
    for pattern in "$@"; do
        grep -qF -- "$pattern" "$log" || problem="$problem; no \"$pattern\""
    done
    if [ -n "$problem" ]; then
        echo "FAIL $case ($mode malloc): $problem (log: $log)"
        sed 's/^/    /' "$log" | tail -n 25
        failures=$((failures + 1))
    else
        echo "ok   $case ($mode malloc): $errors errors"
        grep -E "^==[0-9]+== (Invalid|Conditional|.*definitely lost in|   at .*main|  Address)" "$log" |
            sed 's/^==[0-9]*== /    /'
    fi
}

expect own clean 0 "All heap blocks were freed"
expect memcheck clean 0 "All heap blocks were freed"
expect own uaf 2 "Invalid read of size 1" "8 bytes inside a block of size 40 free'd" \
    "100 bytes inside a block of size 4,000 free'd" "main (vg_prog.c:"
expect memcheck uaf 2 "Invalid read of size 1" "8 bytes inside a block of size 40 free'd"
expect own uninit 1 "Conditional jump or move depends on uninitialised value(s)" "main (vg_prog.c:"
expect own leak 2 "48 bytes in 1 blocks are definitely lost" \
    "100,000 bytes in 1 blocks are definitely lost" "main (vg_prog.c:"
expect own overflow 1 "Invalid write of size 1" "0 bytes after a block of size 20 alloc'd"
expect own pool-uaf 2 "Invalid read of size 1" "40 bytes inside a block of size 64 free'd" \
    "pool_cache_push (pool_internal.h:"
echo "FIGURES: errors:$figures"
[ "$failures" -eq 0 ]
