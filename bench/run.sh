#!/bin/bash
# run.sh: the benchmark runner behind `make bench` (see bench/README.md).
#
# Runs every workload of bench/workloads at 1, nproc and 4 x nproc threads on
# glibc, on mymalloc and on each installed peer (jemalloc, tcmalloc, mimalloc,
# tbbmalloc), swapping allocators with LD_PRELOAD and interleaving them (each
# repetition runs every allocator in turn), REPS times each; keeps the
# medians. tools/measure gives each run's wall time and peak RSS. A run fails
# when it exits non-zero, times out, reports verify=FAILED, or calls a malloc
# that is not the preloaded allocator's; its cell then reads FAILED and the
# runner exits 1 at the end. Then the micro-benchmarks: callgrind
# instructions per malloc+free pair, and malloc/free latency percentiles.
#
# Writes into $BUILD/bench/: results.csv (one row per run), medians.csv,
# micro.csv, results.txt and results.md (the tables), results.png (time
# ratios to glibc, with gnuplot) and failures.log.
#
# Environment: BUILD (build), MYMALLOC_SO ($BUILD/libmymalloc.so),
# QUICK=1 (work x 0.1), REPS (3), WORKLOADS, ALLOCATORS and THREADS (space-
# separated subsets), TIMEOUT (seconds per run, 120), MICRO=0 (skip the
# micro-benchmarks).
set -u
cd "$(dirname "$0")/.."
unset LD_PRELOAD

BUILD=${BUILD:-build}
OUT=$BUILD/bench
MEASURE=$OUT/measure
MYMALLOC_SO=${MYMALLOC_SO:-$BUILD/libmymalloc.so}
case "$MYMALLOC_SO" in /*) ;; *) MYMALLOC_SO=$PWD/$MYMALLOC_SO ;; esac
REPS=${REPS:-3}
TIMEOUT=${TIMEOUT:-120}
MICRO=${MICRO:-1}
case "${QUICK:-}" in
1 | yes | true) QUICK=1 SCALE=0.1 PAIRS=2000 LAT_STEPS=50000 ;;
*) QUICK=0 SCALE=1 PAIRS=20000 LAT_STEPS=300000 ;;
esac
WORKLOADS=${WORKLOADS:-larson xmalloc cache-thrash cache-scratch mstress glibc-simple glibc-thread alloc-test sh6bench rptest large m5mix}
NPROC=$(nproc)
THREADS=${THREADS:-$(echo $(printf '%s\n' 1 "$NPROC" $((4 * NPROC)) | awk '!seen[$1]++'))}
LIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PEERS="jemalloc tcmalloc mimalloc tbbmalloc"

# name, library preloaded (none for glibc), Debian package
allocator_info() {
    case "$1" in
    glibc) echo "- -" ;;
    mymalloc) echo "$MYMALLOC_SO make" ;;
    jemalloc) echo "$LIBDIR/libjemalloc.so.2 libjemalloc2" ;;
    tcmalloc) echo "$LIBDIR/libtcmalloc_minimal.so.4 libtcmalloc-minimal4" ;;
    mimalloc) echo "$LIBDIR/libmimalloc.so.2 libmimalloc2.0" ;;
    tbbmalloc) echo "$LIBDIR/libtbbmalloc_proxy.so.2 libtbbmalloc2" ;;
    esac
}
preload_of() { set -- $(allocator_info "$1"); echo "$1"; }

# ---- which allocators -------------------------------------------------------
if [ -z "${ALLOCATORS:-}" ]; then
    ALLOCATORS="glibc mymalloc"
    missing=
    for a in $PEERS; do
        set -- $(allocator_info "$a")
        if [ -e "$1" ]; then
            ALLOCATORS="$ALLOCATORS $a"
        else
            echo "run.sh: $a is not installed ($1 is missing); to include it: apt-get install $2"
            missing="$missing $2"
        fi
    done
    [ -n "$missing" ] && echo "run.sh: to install every missing peer: apt-get install$missing"
fi
if [ ! -e "$MYMALLOC_SO" ]; then
    echo "run.sh: $MYMALLOC_SO is missing (run make): mymalloc's runs will fail"
elif ! nm -D --defined-only "$MYMALLOC_SO" 2>/dev/null | awk '$3 == "malloc" { f = 1 } END { exit !f }'; then
    echo "run.sh: $MYMALLOC_SO does not define malloc, so LD_PRELOAD cannot replace glibc's: mymalloc's runs will fail"
fi
for p in $MEASURE $(printf "$OUT/%s " $WORKLOADS); do
    [ -x "$p" ] || { echo "run.sh: $p is missing: run make bench-build"; exit 2; }
done

# ---- one run ----------------------------------------------------------------
CSV=$OUT/results.csv
FAILLOG=$OUT/failures.log
: >"$FAILLOG"
echo "workload,threads,allocator,rep,seconds,peak_rss_kib,ops_per_sec,status" >"$CSV"
failed=0

# run_cmd ALLOCATOR CMD...: runs CMD with the allocator preloaded, under
# measure and timeout; sets R_SECONDS, R_RSS, R_STATUS (ok or why it failed)
# and leaves the command's output in $OUT/run.out.
run_cmd() {
    local alloc=$1 preload expect line
    shift
    preload=$(preload_of "$alloc")
    : >"$OUT/run.m"
    if [ "$preload" = - ]; then
        expect=libc.so.6
        "$MEASURE" -o "$OUT/run.m" timeout -k 5 "$TIMEOUT" "$@" >"$OUT/run.out" 2>"$OUT/run.err"
    else
        expect=${preload##*/}
        "$MEASURE" -o "$OUT/run.m" timeout -k 5 "$TIMEOUT" env LD_PRELOAD="$preload" "$@" \
            >"$OUT/run.out" 2>"$OUT/run.err"
    fi
    line=$(cat "$OUT/run.m")
    R_SECONDS=$(echo "$line" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
    R_RSS=$(echo "$line" | sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p')
    local status got
    status=$(echo "$line" | sed -n 's/.*status=\([0-9]*\).*/\1/p')
    got=$(sed -n 's/.* malloc=\([^ ]*\).*/\1/p' "$OUT/run.out" | tail -1)
    if [ -z "$status" ]; then
        R_STATUS="FAILED:no-measurement"
    elif grep -q "verify=FAILED" "$OUT/run.out" "$OUT/run.err"; then
        R_STATUS="FAILED:verify"
    elif [ "$status" = 124 ] || [ "$status" = 137 ]; then
        R_STATUS="FAILED:timeout-${TIMEOUT}s"
    elif [ "$status" -gt 128 ]; then
        R_STATUS="FAILED:signal-$((status - 128))"
    elif [ "$status" != 0 ]; then
        R_STATUS="FAILED:exit-$status"
    elif ! grep -q 'verify=ok' "$OUT/run.out"; then
        R_STATUS="FAILED:verify"
    elif [ "$got" != "$expect" ]; then
        R_STATUS="FAILED:malloc-from-${got:-unknown}"
    else
        R_STATUS=ok
    fi
    if [ "$R_STATUS" != ok ]; then
        failed=1
        {
            echo "== $alloc: $* -> $R_STATUS"
            tail -n 5 "$OUT/run.out" "$OUT/run.err"
        } >>"$FAILLOG"
    fi
}

# ---- the workloads ----------------------------------------------------------
nthreads=$(echo $THREADS | wc -w)
nallocs=$(echo $ALLOCATORS | wc -w)
groups=$(($(echo $WORKLOADS | wc -w) * nthreads))
runs=$((groups * REPS * nallocs))
echo "run.sh: $(echo $WORKLOADS | wc -w) workloads x threads {$THREADS} x {$ALLOCATORS} x $REPS reps = $runs runs$([ "$QUICK" = 1 ] && echo ", QUICK (work x $SCALE)")"
start=$(date +%s)
group=0 run=0
for w in $WORKLOADS; do
    for t in $THREADS; do
        group=$((group + 1))
        for rep in $(seq 1 "$REPS"); do
            for a in $ALLOCATORS; do
                run=$((run + 1))
                [ -t 1 ] && printf '\r  run %d/%d: %s t=%s %s rep %d     ' "$run" "$runs" "$w" "$t" "$a" "$rep"
                run_cmd "$a" "$OUT/$w" --threads="$t" --scale="$SCALE"
                ops=$(sed -n 's/.* ops_per_sec=\([0-9]*\).*/\1/p' "$OUT/run.out" | tail -1)
                echo "$w,$t,$a,$rep,${R_SECONDS:-0},${R_RSS:-0},${ops:-0},$R_STATUS" >>"$CSV"
            done
        done
        [ -t 1 ] && printf '\r%60s\r' ''
        # progress: this group's medians
        awk -F, -v w="$w" -v t="$t" -v g="$group" -v n="$groups" -v el=$(($(date +%s) - start)) \
            -v order="$ALLOCATORS" '
            $1 == w && $2 == t { k = $3; c[k]++; v[k, c[k]] = $5; if ($8 != "ok") bad[k] = 1 }
            END {
                line = sprintf("[%2d/%d %2d:%02d] %-13s t=%-3s", g, n, el / 60, el % 60, w, t)
                m = split(order, names, " ")
                for (i = 1; i <= m; i++) {
                    k = names[i]
                    for (a = 1; a <= c[k]; a++) s[a] = v[k, a]
                    for (a = 2; a <= c[k]; a++)
                        for (b = a; b > 1 && s[b - 1] + 0 > s[b] + 0; b--) { x = s[b]; s[b] = s[b - 1]; s[b - 1] = x }
                    line = line sprintf(" %s %s", k, bad[k] ? "FAILED" : sprintf("%.3fs", s[int((c[k] + 1) / 2)]))
                }
                print line
            }' "$CSV"
    done
done
echo "run.sh: workloads took $(($(date +%s) - start)) s"

# ---- the micro-benchmarks -----------------------------------------------------
MCSV=$OUT/micro.csv
echo "allocator,measure,key,value,status" >"$MCSV"
if [ "$MICRO" != 0 ]; then
    if command -v valgrind >/dev/null 2>&1; then
        echo "run.sh: callgrind instructions per malloc+free pair"
        for a in $ALLOCATORS; do
            rm -rf "$OUT/callgrind" && mkdir -p "$OUT/callgrind"
            run_cmd "$a" valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/cg.out" \
                "$OUT/micro/pairs" --pairs="$PAIRS"
            line="  $a:"
            for f in "$OUT"/callgrind/cg.out.*; do
                [ -e "$f" ] || continue
                size=$(sed -n 's/^desc: Trigger: Client Request: pairs-//p' "$f")
                total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f")
                [ -n "$size" ] && [ -n "$total" ] || continue
                value=$(awk -v t="$total" -v n="$PAIRS" 'BEGIN { printf "%.1f", t / n }')
                echo "$a,instructions_per_pair,$size,$value,$R_STATUS" >>"$MCSV"
                line="$line $size B: $value"
            done
            [ "$R_STATUS" != ok ] && line="$line FAILED ($R_STATUS)"
            echo "$line"
        done
    else
        echo "run.sh: valgrind is not installed (apt-get install valgrind): no instruction counts"
    fi
    echo "run.sh: malloc/free latency percentiles, ns (median of $REPS runs)"
    for rep in $(seq 1 "$REPS"); do
        for a in $ALLOCATORS; do
            run_cmd "$a" "$OUT/micro/latency" --steps="$LAT_STEPS"
            tr ' ' '\n' <"$OUT/run.out" | awk -F= -v a="$a" -v s="$R_STATUS" \
                '$1 ~ /^(malloc|free)_/ { print a ",latency_ns," $1 "," $2 "," s }' >>"$MCSV"
            [ "$R_STATUS" != ok ] && echo "$a,latency_ns,-,0,$R_STATUS" >>"$MCSV"
        done
    done
fi

# ---- medians --------------------------------------------------------------------
# medians.csv: workload,threads,allocator,seconds,peak_rss_kib,status, the
# median over the repetitions (mean of the middle two for an even count); the
# status is the first failure when any repetition failed.
MED=$OUT/medians.csv
awk -F, '
    function median(key, col,    n, a, b, x, s) {
        n = cnt[key]
        for (a = 1; a <= n; a++) s[a] = val[key, a, col]
        for (a = 2; a <= n; a++)
            for (b = a; b > 1 && s[b - 1] > s[b]; b--) { x = s[b]; s[b] = s[b - 1]; s[b - 1] = x }
        return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
    }
    NR > 1 {
        key = $1 "," $2 "," $3
        if (!(key in seen)) { seen[key] = 1; keys[++nkeys] = key }
        if ($8 != "ok") { if (!(key in bad)) bad[key] = $8; next }
        cnt[key]++
        val[key, cnt[key], 5] = $5 + 0
        val[key, cnt[key], 6] = $6 + 0
    }
    END {
        for (i = 1; i <= nkeys; i++) {
            k = keys[i]
            if (k in bad) print k ",,," bad[k]
            else printf "%s,%.4f,%d,ok\n", k, median(k, 5), median(k, 6)
        }
    }' "$CSV" >"$MED"

# ---- the tables -----------------------------------------------------------------
# summarize FORMAT (text or md): the workload tables and the micro tables.
summarize() {
    awk -F, -v fmt="$1" -v order="$ALLOCATORS" -v peers="$PEERS" -v reps="$REPS" '
    function row(cells, n,    i, line) {
        if (fmt == "md") {
            line = "|"
            for (i = 1; i <= n; i++) line = line " " cells[i] " |"
        } else {
            line = sprintf("%-20s", cells[1])
            for (i = 2; i <= n; i++) line = line sprintf(" %16s", cells[i])
        }
        print line
    }
    function header(title, first,    i) {
        print ""
        print (fmt == "md" ? "### " : "") title
        print ""
        cells[1] = first
        for (i = 1; i <= na; i++) cells[i + 1] = names[i]
        row(cells, na + 1)
        if (fmt == "md") {
            line = "|---"
            for (i = 1; i <= na; i++) line = line "|---:"
            print line "|"
        }
    }
    function median_of(key,    n, a, b, x, s) {
        n = mcnt[key]
        for (a = 1; a <= n; a++) s[a] = mval[key, a]
        for (a = 2; a <= n; a++)
            for (b = a; b > 1 && s[b - 1] > s[b]; b--) { x = s[b]; s[b] = s[b - 1]; s[b - 1] = x }
        return s[int((n + 1) / 2)]
    }
    # One micro-benchmark table: a row per key (size or percentile), the
    # median of its repetitions per allocator.
    function micro_table(what, title, first,    k, q, i, key) {
        if (nm[what] == 0) return
        header(title, first)
        for (k = 1; k <= nm[what]; k++) {
            q = mkeys[what, k]
            cells[1] = q
            for (i = 1; i <= na; i++) {
                key = names[i] SUBSEP what SUBSEP q
                cells[i + 1] = (names[i], what) in mbad ? "FAILED" : key in mcnt ? median_of(key) : "-"
            }
            row(cells, na + 1)
        }
    }
    FILENAME ~ /medians.csv$/ {
        wt = $1 "/" $2
        if (!(wt in seen)) { seen[wt] = 1; rows[++nrows] = wt }
        status[wt, $3] = $6
        med[wt, $3, "s"] = $4
        med[wt, $3, "r"] = $5 / 1024
    }
    FILENAME ~ /micro.csv$/ && FNR > 1 {
        if ($5 != "ok") { mbad[$1, $2] = 1; next }
        key = $1 SUBSEP $2 SUBSEP $3
        mcnt[key]++
        mval[key, mcnt[key]] = $4 + 0
        if (!(($2 SUBSEP $3) in mseen)) { mseen[$2, $3] = 1; mkeys[$2, ++nm[$2]] = $3 }
    }
    END {
        na = split(order, names, " ")
        np = split(peers, p, " ")
        for (i = 1; i <= np; i++) ispeer[p[i]] = 1
        for (m = 1; m <= 2; m++) {
            what = m == 1 ? "s" : "r"
            header(m == 1 ? "Wall time, seconds (median of " reps "); (x) = ratio to the best peer" \
                          : "Peak RSS, MiB (median of " reps "); (x) = ratio to the best peer", "workload/threads")
            for (i = 1; i <= na; i++) { lsum[i] = 0; lcnt[i] = 0 }
            for (r = 1; r <= nrows; r++) {
                wt = rows[r]
                best = ""; fallback = ""
                for (i = 1; i <= na; i++) {
                    if (status[wt, names[i]] != "ok") continue
                    v = med[wt, names[i], what]
                    if (ispeer[names[i]] && (best == "" || v < best)) best = v
                    if (names[i] == "glibc") fallback = v
                }
                if (best == "") best = fallback
                cells[1] = wt
                for (i = 1; i <= na; i++) {
                    s = status[wt, names[i]]
                    if (s == "") { cells[i + 1] = "-"; continue }
                    if (s != "ok") { cells[i + 1] = "FAILED"; continue }
                    v = med[wt, names[i], what]
                    cells[i + 1] = sprintf(what == "s" ? "%.3f" : "%.1f", v)
                    if (best > 0 && v > 0) {
                        lsum[i] += log(v / best); lcnt[i]++
                        cells[i + 1] = cells[i + 1] sprintf(" (%.2f)", v / best)
                    }
                }
                row(cells, na + 1)
            }
            cells[1] = "geomean ratio"
            for (i = 1; i <= na; i++)
                cells[i + 1] = !lcnt[i] ? "-" : sprintf("%.2f", exp(lsum[i] / lcnt[i])) \
                                               (lcnt[i] < nrows ? " (" lcnt[i] "/" nrows ")" : "")
            row(cells, na + 1)
        }
        micro_table("instructions_per_pair", "Instructions per malloc+free pair (callgrind)", "size, bytes")
        micro_table("latency_ns", "Latency of single calls, ns (median of " reps " runs)", "call percentile")
    }' "$MED" "$MCSV"
}

summarize text | tee "$OUT/results.txt"
{
    echo "# mymalloc benchmark results"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $NPROC CPUs;" \
        "threads {$THREADS}, $REPS repetitions$([ "$QUICK" = 1 ] && echo ", QUICK (work x $SCALE)")." \
        "Best peer: the fastest (or smallest) of $PEERS that ran. Raw runs: results.csv, micro.csv."
    summarize md
    if [ -s "$FAILLOG" ]; then
        echo
        echo "### Failed runs"
        echo
        grep '^== ' "$FAILLOG" | sed 's/^== /- /'
    fi
} >"$OUT/results.md"


# ---- the chart ----------------------------------------------------------------------
# chart.dat: one row per workload/threads, one column per allocator that ran
# at least once: its median time over glibc's (NaN where either failed).
if command -v gnuplot >/dev/null 2>&1; then
    awk -F, -v order="$ALLOCATORS" '
        { wt = $1 "/" $2; if (!(wt in seen)) { seen[wt] = 1; rows[++n] = wt }
          if ($6 == "ok") { t[wt, $3] = $4; ran[$3] = 1 } }
        END {
            na = split(order, names, " ")
            line = "row"
            for (i = 1; i <= na; i++) if (names[i] in ran) line = line " " names[i]
            print line
            for (r = 1; r <= n; r++) {
                wt = rows[r]; g = t[wt, "glibc"]; line = wt
                for (i = 1; i <= na; i++) {
                    if (!(names[i] in ran)) continue
                    v = t[wt, names[i]]
                    line = line " " (g > 0 && v > 0 ? sprintf("%.4f", v / g) : "NaN")
                }
                print line
            }
        }' "$MED" >"$OUT/chart.dat"
    ncols=$(head -1 "$OUT/chart.dat" | wc -w)
    gnuplot <<EOF
set terminal pngcairo size 1800,650 font ",10"
set output "$OUT/results.png"
set title "Wall time relative to glibc (lower is better; log scale; no bar = failed run)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set logscale y 2
set yrange [0.03:64]
set grid ytics
set key top left horizontal reverse Left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2
set xtics rotate by -60 font ",8"
plot for [i=2:$ncols] "$OUT/chart.dat" using i:xtic(1) title columnheader(i)
EOF
    [ -s "$OUT/results.png" ] && echo "run.sh: chart in $OUT/results.png"
else
    echo "run.sh: gnuplot is not installed (apt-get install gnuplot-nox): no chart"
fi

# Modules bring their own benchmarks (bench/MODULE/run.sh): each prints its
# tables and writes them under $OUT/MODULE/.
for module_bench in bench/*/run.sh; do
    [ -f "$module_bench" ] || continue
    echo "run.sh: $module_bench"
    BUILD=$BUILD QUICK=$QUICK bash "$module_bench" || failed=1
done

echo "run.sh: results in $CSV, $OUT/results.md; took $(($(date +%s) - start)) s"
if [ "$failed" != 0 ]; then
    echo "run.sh: some runs FAILED (details in $FAILLOG):"
    grep '^== ' "$FAILLOG" | cut -d' ' -f2 | sort | uniq -c | awk '{ printf "  %s %d failed runs\n", $2, $1 }'
    exit 1
fi
