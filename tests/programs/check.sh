#!/usr/bin/env bash
# check.sh PROGRAM SIZE: one real-program test. Runs the workload PROGRAM
# (python, sqlite, gcc, cxx or redis; see lib.sh) at SIZE twice, on glibc
# and with LD_PRELOAD=build/libmymalloc.so and MYMALLOC_STATS=1, and passes
# if
#   - both runs exit 0 (nothing crashed or hung: run.sh's timeout kills it),
#   - they printed the same (stdout; stderr less the lines of mymalloc),
#   - mymalloc's stats lines show it served the program: enough mallocs,
#     and for gcc every compiler pass (cc1) of the six big files,
#   - program-specific expectations hold (redis: DBSIZE and a counter).
# Prints "FIGURES: ..." with both runs' seconds and peak RSS and the mallocs
# mymalloc served. Work files stay in $BUILD/tests/programs/work/PROGRAM/.
# A missing program fails with the Debian package to install.
set -u
. "$(dirname "$0")/lib.sh"

prog=$1 size=$2
work=$PROG_BIN/work/$prog
ok=0
fail() {
    echo "FAIL: $*"
    ok=1
}

# What each workload needs, and the least mallocs that prove mymalloc served
# it (a tenth or less of what a correct run makes at the test's size).
case $prog in
python) needs=("$PYTHON python3") min_mallocs=1000000 ;;
sqlite) needs=("$SQLITE sqlite3") min_mallocs=500000 ;;
gcc) needs=("$GCC gcc") min_mallocs=1000000 ;;
cxx) needs=("$PROG_BIN/cxx_churn g++ (then make test-build)") min_mallocs=1000000 ;;
redis)
    needs=("$REDIS_SERVER redis-server" "$REDIS_CLI redis-tools" "$REDIS_BENCHMARK redis-tools")
    min_mallocs=100000
    ;;
*)
    echo "check.sh: unknown program $prog"
    exit 2
    ;;
esac
missing=0
for n in "${needs[@]}" "$MEASURE make test-build"; do
    prog_need "${n%% *}" "${n#* }" || missing=1
done
if [ ! -e "$MYMALLOC_SO" ]; then
    echo "FAIL: $MYMALLOC_SO is missing: run make"
    missing=1
fi
[ "$missing" -eq 0 ] || exit 1

rm -rf "$work"
mkdir -p "$work/glibc" "$work/mymalloc"

echo "== $prog on glibc"
"wl_$prog" "$work/glibc" "$size" "" || fail "$prog on glibc: exit status $(measured "$work/glibc" status)"
echo "== $prog on mymalloc ($MYMALLOC_SO)"
MYMALLOC_STATS=1 "wl_$prog" "$work/mymalloc" "$size" "$MYMALLOC_SO" ||
    fail "$prog on mymalloc: exit status $(measured "$work/mymalloc" status)"
for run in glibc mymalloc; do
    echo "-- $run: $(cat "$work/$run/measure" 2>/dev/null)"
    tail -n 5 "$work/$run/stdout" | sed 's/^/   stdout| /'
    without_mymalloc "$work/$run/stderr" | tail -n 10 | sed 's/^/   stderr| /'
done

same_output "$work/glibc" "$work/mymalloc" || ok=1

# Proof that mymalloc served the program.
stderr=$work/mymalloc/stderr
if grep -q "cannot be preloaded" "$stderr"; then
    fail "the dynamic linker could not preload $MYMALLOC_SO"
fi
lines=$(stats_lines "$stderr" | wc -l)
mallocs=$(stats_sum "$stderr" mallocs)
echo "mymalloc stats lines: $lines, mallocs in all: $mallocs"
stats_lines "$stderr" | head -n 20
if [ "$lines" -eq 0 ]; then
    fail "no 'mymalloc: stats:' line: $MYMALLOC_SO did not serve $prog (does it export malloc and free?)"
elif [ "$mallocs" -lt "$min_mallocs" ]; then
    fail "mymalloc served $mallocs mallocs, expected at least $min_mallocs"
fi

case $prog in
gcc)
    # The driver, cc1, as, collect2 and ld each print a line; the six parts'
    # cc1 processes make far more than 50000 mallocs each.
    big=$(stats_lines "$stderr" | awk '{ split($3, kv, "="); if (kv[2] >= 50000) n++ } END { print n + 0 }')
    echo "processes with at least 50000 mallocs: $big"
    [ "$big" -ge 6 ] || fail "only $big gcc processes (cc1) made 50000 mallocs on mymalloc, expected 6"
    grep -q '^total ' "$work/glibc/stdout" || fail "the compiled program printed no total"
    ;;
redis)
    # The loaded keys, the benchmark's key, counter and hash (its list ends
    # empty, lpop after lpush).
    expect=$((size + (size < 100 ? size : 100) + (size < 1000 ? size : 1000) +
        (size < 500 ? size : 500) + (size < 200 ? size : 200) + 3))
    for run in glibc mymalloc; do
        got=$(sed -n 's/^dbsize //p' "$work/$run/stdout")
        [ "$got" = "$expect" ] || fail "redis on $run: DBSIZE $got, expected $expect"
        grep -qx "get counter:__rand_int__ $(echo "$size" | cksum)" "$work/$run/stdout" ||
            fail "redis on $run: counter:__rand_int__ is not $size"
        grep -qE '^digest [0-9a-f]{40}$' "$work/$run/stdout" || fail "redis on $run: no DEBUG DIGEST"
    done
    ;;
esac

fig() {
    awk -v s="$(measured "$work/$1" seconds)" -v k="$(measured "$work/$1" peak_rss_kib)" -v n="$1" \
        'BEGIN { printf "%s %.1fs %.0fMiB", n, s, k / 1024 }'
}
echo "FIGURES: $(fig glibc) $(fig mymalloc) mallocs=$(awk -v m="$mallocs" 'BEGIN { printf "%.1fM", m / 1e6 }')"
[ "$ok" -eq 0 ] && echo "$prog: PASS"
exit "$ok"
