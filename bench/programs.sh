#!/usr/bin/env bash
# programs.sh: real programs on mymalloc, glibc and the peer allocators.
#
#   bench/programs.sh               5 repetitions (REPS=N to change)
#   PROGRAMS="sqlite redis" bench/programs.sh    only some programs
#
# Runs each workload of the real-program tests (tests/programs/lib.sh) at
# measurement size, a few seconds each on glibc:
#   python  python3 alloc_heavy.py 80000 (PYTHONMALLOC=malloc)
#   sqlite  the sqlite3 shell, 300000 rows and the queries of sqlite_gen.sh
#   gcc     gcc -O2 on 6 generated files of 16 functions each
#   cxx     cxx_churn, 4 threads, 400 rounds (cross-thread deletes)
#   redis   redis-server loaded with 150000 keys and elements, then
#           redis-benchmark -n 150000 -P 16 (set,get,lpush,lpop,incr,hset);
#           seconds are the clients' wall time, peak RSS the server's
# under glibc, mymalloc (build/libmymalloc.so, when it exports malloc) and
# each installed peer: jemalloc, tcmalloc, mimalloc, tbbmalloc (LD_PRELOAD;
# a missing one is named with its Debian package). Every repetition runs
# every program on every allocator, starting with a different allocator each
# time, so slow drifts of a shared machine spread over all of them. A run
# that fails or prints other output than glibc's is reported and left out.
#
# Prints, per program and allocator, the median wall seconds and median peak
# RSS (KiB), each with its ratio to glibc; writes every run to
# build/bench/programs.csv (program,allocator,rep,seconds,peak_rss_kib).
# Run it with nice on a shared machine.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/programs/lib.sh

reps=${REPS:-5}
programs=${PROGRAMS:-python sqlite gcc cxx redis}
out=$PROG_BUILD/bench
csv=$out/programs.csv
work=$out/programs
export REDIS_PIPELINE=16

size_of() {
    case $1 in
    python) echo 80000 ;;
    sqlite) echo 300000 ;;
    gcc) echo 16 ;;
    cxx) echo 400 ;;
    redis) echo 150000 ;;
    esac
}

# What the workloads run besides Debian's programs.
make -s BUILD="$BUILD" "$BUILD/libmymalloc.so" "$BUILD/tests/programs/measure" \
    "$BUILD/tests/programs/cxx_churn" || exit 1

missing=0
for p in $programs; do
    case $p in
    python) prog_need "$PYTHON" python3 || missing=1 ;;
    sqlite) prog_need "$SQLITE" sqlite3 || missing=1 ;;
    gcc) prog_need "$GCC" gcc || missing=1 ;;
    cxx) ;;
    redis)
        prog_need "$REDIS_SERVER" redis-server || missing=1
        prog_need "$REDIS_BENCHMARK" redis-tools || missing=1
        ;;
    *) echo "unknown program $p (python sqlite gcc cxx redis)"; exit 2 ;;
    esac
done
[ "$missing" -eq 0 ] || exit 1

allocators=(glibc)
if nm -D --defined-only "$MYMALLOC_SO" 2>/dev/null | grep -qw malloc; then
    allocators+=(mymalloc)
else
    echo "mymalloc: $MYMALLOC_SO does not export malloc, left out"
fi
for a in jemalloc tcmalloc mimalloc tbbmalloc; do
    if [ -e "$(alloc_path "$a")" ]; then
        allocators+=("$a")
    else
        echo "$a: not installed (apt-get install $(alloc_package "$a")), left out"
    fi
done
n=${#allocators[@]}
echo "programs: $programs; allocators: ${allocators[*]}; $reps repetitions"

rm -rf "$work" && mkdir -p "$work" || exit 1
echo "program,allocator,rep,seconds,peak_rss_kib" >"$csv"
failures=$work/failures
: >"$failures"

for rep in $(seq 1 "$reps"); do
    for p in $programs; do
        for i in $(seq 0 $((n - 1))); do
            a=${allocators[$(((i + rep - 1) % n))]}
            dir=$work/$p-$a
            rm -rf "$dir" && mkdir -p "$dir"
            timeout -k 10 900 bash -c '. tests/programs/lib.sh && "wl_$1" "$2" "$3" "$4"' _ \
                "$p" "$dir" "$(size_of "$p")" "$(alloc_path "$a")" </dev/null
            rc=$?
            sig=$(cksum <"$dir/stdout" 2>/dev/null)
            ref=$work/$p.expected # glibc's output, from its first run
            [ "$a" = glibc ] && [ ! -s "$ref" ] && [ "$rc" -eq 0 ] && echo "$sig" >"$ref"
            if [ "$rc" -ne 0 ]; then
                echo "$p $a rep $rep: failed (status $rc), see $dir" | tee -a "$failures"
                cp -r "$dir" "$dir.failed-$rep"
            elif [ -s "$ref" ] && [ "$sig" != "$(cat "$ref")" ]; then
                echo "$p $a rep $rep: output differs from glibc's, see $dir" | tee -a "$failures"
                cp -r "$dir" "$dir.failed-$rep"
            else
                echo "$p,$a,$rep,$(measured "$dir" seconds),$(measured "$dir" peak_rss_kib)" >>"$csv"
            fi
        done
    done
    echo "repetition $rep of $reps done"
done

# The table: medians per program and allocator, ratios to glibc.
echo
awk -F, -v allocs="${allocators[*]}" -v progs="$programs" '
function median(key,   m, i, j, t, v) {
    m = cnt[key]
    if (m == 0) return -1
    for (i = 1; i <= m; i++) v[i] = val[key, i]
    for (i = 2; i <= m; i++)
        for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
function table(title, field, fmt,   i, j, g, x, cell) {
    printf "%s\n%-8s", title, "program"
    for (j = 1; j <= na; j++) printf " %18s", a[j]
    printf "\n"
    for (i = 1; i <= np; i++) {
        printf "%-8s", p[i]
        g = median(p[i] SUBSEP a[1] SUBSEP field)
        for (j = 1; j <= na; j++) {
            x = median(p[i] SUBSEP a[j] SUBSEP field)
            if (x < 0) cell = "-"
            else if (g > 0) cell = sprintf(fmt " (%.2f)", x, x / g)
            else cell = sprintf(fmt, x)
            printf " %18s", cell
        }
        printf "\n"
    }
    printf "\n"
}
NR > 1 {
    for (f = 4; f <= 5; f++) { k = $1 SUBSEP $2 SUBSEP f; val[k, ++cnt[k]] = $f }
}
END {
    na = split(allocs, a, " ")
    np = split(progs, p, " ")
    table("wall seconds, median (ratio to glibc)", 4, "%.2f")
    table("peak RSS KiB, median (ratio to glibc)", 5, "%d")
}' "$csv"
echo "runs: $csv"
if [ -s "$failures" ]; then
    echo "FAILED RUNS:"
    cat "$failures"
    exit 1
fi
