#!/bin/bash
# report.sh: the 3R report (reliable, robust, real-time), behind
# `make report-3r`. Measures, then writes docs/3R.md and docs/3R-latency.png:
#
#   real-time  bench/micro/latency (steady and fragmenting mix, pinned to the
#              last CPU) on glibc, each installed peer (preloaded as
#              bench/run.sh does), mymalloc, mymalloc's real-time mode
#              (build/libmymalloc-rt.so) and, built against the rt heap
#              directly, build/bench/rt3r/latency-rt; REPS runs each,
#              interleaved, medians kept; memory locked, the thread at
#              SCHED_FIFO when root; every sample above 500 ns classified
#              against the kernel's record of interrupts, faults, switches
#              (bench/rt3r/platform_events.h) and the run's control beside
#              each allocator; the tail-distribution chart; and the rt
#              heap's instruction bounds (tests/rt/instr.sh).
#   reliable   the external fault injector at its test size (30000 flips into
#              a running workload), short stress runs of the core and of M5,
#              and the FIGURES of any soak log present.
#   robust     tests/run.sh on the bad-input, exhaustion and fuzz tests.
#   speed      the geomean lines of build/bench/results.md (make bench).
#
# Environment: BUILD (build), QUICK=1 (50000 latency steps instead of
# 300000), REPS (3), DOC (docs/3R.md), FIFO (the SCHED_FIFO priority of the
# timed thread: 50 as root, else 0 for none). About 3 minutes on 2 cores. Needs the
# programs of `make test-build` and `make bench-build`, both libraries and
# gnuplot for the chart (without it the report says so).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/bench/rt3r
DOC=${DOC:-docs/3R.md}
PNG=${DOC%.md}-latency.png
REPS=${REPS:-3}
case ${QUICK:-0} in
1 | yes | true) STEPS=50000 WARMUP=10000 ;;
*) STEPS=300000 WARMUP=50000 ;;
esac
NPROC=$(nproc)
CPU=$((NPROC - 1))
FIFO=${FIFO:-$([ "$(id -u)" = 0 ] && echo 50 || echo 0)}
SLOW_NS=500
LIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
mkdir -p "$OUT"
start=$(date +%s)

# ---- latency ------------------------------------------------------------------
# name, program, library preloaded (- for none), the malloc= the program must report
lat_info() {
    case "$1" in
    glibc) echo "$BUILD/bench/micro/latency - libc.so.6" ;;
    jemalloc) echo "$BUILD/bench/micro/latency $LIBDIR/libjemalloc.so.2 libjemalloc.so.2" ;;
    tcmalloc) echo "$BUILD/bench/micro/latency $LIBDIR/libtcmalloc_minimal.so.4 libtcmalloc_minimal.so.4" ;;
    mimalloc) echo "$BUILD/bench/micro/latency $LIBDIR/libmimalloc.so.2 libmimalloc.so.2" ;;
    tbbmalloc) echo "$BUILD/bench/micro/latency $LIBDIR/libtbbmalloc_proxy.so.2 libtbbmalloc_proxy.so.2" ;;
    mymalloc) echo "$BUILD/bench/micro/latency $BUILD/libmymalloc.so libmymalloc.so" ;;
    mymalloc-rt) echo "$BUILD/bench/micro/latency $BUILD/libmymalloc-rt.so libmymalloc-rt.so" ;;
    rt-heap) echo "$BUILD/bench/rt3r/latency-rt - rt_heap" ;;
    esac
}
ALLOCATORS=
for a in glibc jemalloc tcmalloc mimalloc tbbmalloc mymalloc mymalloc-rt rt-heap; do
    set -- $(lat_info "$a")
    if [ -x "$1" ] && { [ "$2" = - ] || [ -e "$2" ]; }; then
        ALLOCATORS="$ALLOCATORS $a"
    else
        echo "report.sh: $a left out ($1 or $2 is missing)"
    fi
done
LCSV=$OUT/latency.csv
echo "allocator,mix,rep,key,value" >"$LCSV"
: >"$OUT/failures.log"
: >"$OUT/status.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "report.sh: latency, $STEPS steps, CPU $CPU, $REPS reps:$ALLOCATORS"
for rep in $(seq 1 "$REPS"); do
    for mix in 0 1; do
        for a in $ALLOCATORS; do
            set -- $(lat_info "$a")
            preload=()
            [ "$2" != - ] && preload=("LD_PRELOAD=$2")
            # the real-time arena is mapped, faulted in and locked at start-up, before the timed steps
            env "${preload[@]}" MYMALLOC_RT_ARENA_MB=512 LATENCY_CDF="$OUT/cdf-$a-$mix.txt" \
                LATENCY_SLOW="$OUT/slow-$a-$mix.txt" \
                timeout 300 "$1" --steps="$STEPS" --warmup="$WARMUP" --mix=$mix --cpu=$CPU \
                --lock=1 --fifo="$FIFO" --slow-ns=$SLOW_NS >"$OUT/run.out" 2>"$OUT/run.err"
            rc=$?
            line=$(grep '^latency ' "$OUT/run.out")
            if [ $rc -ne 0 ] || ! echo "$line" | grep -q "verify=ok malloc=$3\$"; then
                { echo "== $a mix=$mix rep=$rep: exit $rc"; cat "$OUT/run.out" "$OUT/run.err"; } >>"$OUT/failures.log"
                echo "$a,$mix,$rep,FAILED,1" >>"$LCSV"
                continue
            fi
            echo "$line" | tr ' ' '\n' | grep -E '^(lock|fifo|tracing)=' | tr '\n' ' ' >>"$OUT/status.txt"
            echo "$line" | tr ' ' '\n' | awk -F= -v a="$a" -v m=$mix -v r=$rep \
                'NF == 2 && $2 ~ /^[0-9.]+$/ { print a "," m "," r "," $1 "," $2 }' >>"$LCSV"
        done
    done
    echo "report.sh: rep $rep done ($(($(date +%s) - start)) s)"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
latency_seconds=$(($(date +%s) - start))
# what the runs said of --lock, --fifo and the tracing, each distinct answer once
run_status=$(tr ' ' '\n' <"$OUT/status.txt" | grep . | sort | uniq -c | awk '{ printf "%s%s (%s runs)", sep, $2, $1; sep = ", " }')

# medians.csv: allocator,mix,key,median over the repetitions (FAILED when any failed)
awk -F, 'NR > 1 {
        k = $1 "," $2 "," $4
        if ($4 == "FAILED") { bad[$1 "," $2] = 1; next }
        n[k]++; v[k, n[k]] = $5 + 0; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
    }
    END {
        for (i = 1; i <= nk; i++) {
            k = keys[i]; c = n[k]
            for (a = 1; a <= c; a++) s[a] = v[k, a]
            for (a = 2; a <= c; a++)
                for (b = a; b > 1 && s[b - 1] > s[b]; b--) { x = s[b]; s[b] = s[b - 1]; s[b - 1] = x }
            print k "," s[int((c + 1) / 2)]
        }
        for (b in bad) print b ",FAILED,1"
    }' "$LCSV" >"$OUT/medians.csv"

# the platform's causes and the timed code's own (bench/rt3r/platform_events.h);
# cause_cell ALLOC CALL LIST: "timer 3, softirq 1" from v[]
PLATFORM_CAUSES="switch timer ipi irq softirq nmi stolen"
OWN_CAUSES="fault syscall"
CAUSE_AWK='function cause_cell(a, call, causes,    k, cell, nc, cs) {
    nc = split(causes, cs, " ")
    for (k = 1; k <= nc; k++)
        if (v[a, "causes_" call "_" cs[k]] > 0)
            cell = cell (cell == "" ? "" : ", ") cs[k] " " v[a, "causes_" call "_" cs[k]]
    return cell == "" ? "-" : cell
}
function own_cell(a, call) {
    return v[a, "own_" call] == 0 ? "-" : v[a, "own_" call] " (" cause_cell(a, call, own) ")"
}'

# latency_table MIX CALL: markdown rows, ns / TSC cycles per cell
latency_table() {
    awk -F, -v mix="$1" -v call="$2" -v order="$ALLOCATORS" -v platform="$PLATFORM_CAUSES" \
        -v own="$OWN_CAUSES" "$CAUSE_AWK"'
        $2 == mix { v[$1, $3] = $4; if ($3 == "FAILED") bad[$1] = 1 }
        END {
            print "| " call " | p50 | p99 | p99.9 | p99.99 | max | max excluding identified outliers | slow samples | identified outliers: platform cause (samples) | only a fault or system call (the allocator itself) | unexplained | page faults |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"
            n = split(order, names, " ")
            split("p50 p99 p999 p9999 max", q, " ")
            for (i = 1; i <= n; i++) {
                a = names[i]
                if (bad[a]) { print "| " a " | FAILED | | | | | | | | | | |"; continue }
                line = "| " a
                for (j = 1; j <= 5; j++)
                    line = line sprintf(" | %s / %s", v[a, call "_" q[j]], v[a, "cyc_" call "_" q[j]])
                line = line sprintf(" | %s | %s | %s | %s | %s | %s |", v[a, "clean_" call "_max"],
                                    v[a, "slow_" call], cause_cell(a, call, platform),
                                    own_cell(a, call), v[a, "unexpl_" call], v[a, "minflt"])
                print line
            }
        }' "$OUT/medians.csv"
}

# control_table MIX: the control measured in each allocator's runs
control_table() {
    awk -F, -v mix="$1" -v order="$ALLOCATORS" -v platform="$PLATFORM_CAUSES" "$CAUSE_AWK"'
        $2 == mix { v[$1, $3] = $4; if ($3 == "FAILED") bad[$1] = 1 }
        END {
            print "| control, in the run of | p50 | p99 | p99.9 | p99.99 | max | max excluding identified outliers | slow samples | identified outliers: platform cause (samples) | unexplained | timer interrupts on the CPU | steal, ms |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
            n = split(order, names, " ")
            split("p50 p99 p999 p9999 max", q, " ")
            for (i = 1; i <= n; i++) {
                a = names[i]
                if (bad[a]) continue
                line = "| " a
                for (j = 1; j <= 5; j++)
                    line = line " | " v[a, "control_" q[j]]
                print line sprintf(" | %s | %s | %s | %s | %s | %s |", v[a, "clean_control_max"],
                                   v[a, "slow_control"], cause_cell(a, "control", platform), v[a, "unexpl_control"],
                                   v[a, "irq_timer"], v[a, "steal_ms"])
            }
        }' "$OUT/medians.csv"
}

# slow_summary MIX: the rt modes' unexplained slow samples (last run), by call and size
slow_summary() {
    for a in mymalloc-rt rt-heap; do
        f=$OUT/slow-$a-$1.txt
        [ -s "$f" ] || continue
        awk -v a="$a" '$NF == "none" && ($1 == "malloc" || $1 == "free" || $1 == "control") {
                n[$1]++; if ($4 > 4096) big[$1]++
                if ($3 > top[$1]) { top[$1] = $3; tops[$1] = $4 }
                if ($3 > 2000) over[$1]++
            }
            END {
                line = "- " a ":"
                split("malloc free control", c, " ")
                for (i = 1; i <= 3; i++) {
                    k = c[i]
                    line = line " " k " " (n[k] ? sprintf("%d (%d on blocks above 4 KiB, %d above 2 us; the largest %d ns, on %d B)",
                                                           n[k], big[k], over[k], top[k], tops[k]) : "none")
                    line = line (i < 3 ? ";" : ".")
                }
                print line
            }' "$f"
    done
}

# goal_verdict MIX: does mymalloc-rt have the lowest p99.99 and max, and max <= 3 x p99 apart from
# the identified outliers? Beside it, the same ratio for the control (the platform's floor).
goal_verdict() {
    awk -F, -v mix="$1" -v order="$ALLOCATORS" '
        $2 == mix { v[$1, $3] = $4 + 0; has[$1] = 1; if ($3 == "FAILED") bad[$1] = 1 }
        function lowest(key,    i, a, best, who) {
            for (i = 1; i <= n; i++) {
                a = names[i]
                if (bad[a] || !has[a]) continue
                if (best == "" || v[a, key] < best) { best = v[a, key]; who = a }
            }
            return who
        }
        END {
            n = split(order, names, " ")
            r = "mymalloc-rt"
            if (!has[r] || bad[r]) { print "- mymalloc-rt did not run: no verdict."; exit }
            split("malloc free realloc", calls, " ")
            for (c = 1; c <= 3; c++) {
                k = calls[c]
                w1 = lowest(k "_p9999"); w2 = lowest(k "_max"); w3 = lowest("clean_" k "_max")
                p99 = v[r, k "_p99"]; cm = v[r, "clean_" k "_max"]
                printf "- %s: lowest p99.99 %s (%s ns; mymalloc-rt %s ns); lowest max %s (%s ns; mymalloc-rt %s ns); lowest max excluding identified outliers %s (%s ns; mymalloc-rt %s ns). mymalloc-rt: max excluding identified outliers / p99 = %s / %s = %.1f, %s; %d slow samples unexplained.\n",
                    k, w1, v[w1, k "_p9999"], v[r, k "_p9999"], w2, v[w2, k "_max"], v[r, k "_max"],
                    w3, v[w3, "clean_" k "_max"], cm, cm, p99, (p99 > 0 ? cm / p99 : 0),
                    ((p99 > 0 && cm <= 3 * p99) ? "within 3x" : "NOT within 3x"), v[r, "unexpl_" k]
                if (c < 3 && !(w1 == r && w3 == r && p99 > 0 && cm <= 3 * p99)) fails = fails " " k
            }
            cp99 = v[r, "control_p99"]; ccm = v[r, "clean_control_max"]
            printf "- the control (about 60 instructions) in the same runs: p99 %s ns, max excluding identified outliers %s ns (%.0f x its p99), %d slow samples unexplained.\n",
                cp99, ccm, (cp99 > 0 ? ccm / cp99 : 0), v[r, "unexpl_control"]
            # the spikes no guest event explains, per second spent in the timed regions
            split("malloc free control", big, " ")
            line = "- unexplained samples above 2 us (no event, no steal), per second inside the timed regions, mymalloc-rt runs:"
            for (c = 1; c <= 3; c++) {
                k = big[c]; t = v[r, "timed_ms_" k] / 1000
                line = line sprintf(" %s %d in %.1f ms (%.0f/s)%s", k, v[r, "unexpl_big_" k], t * 1000,
                                    (t > 0 ? v[r, "unexpl_big_" k] / t : 0), c < 3 ? ";" : ".")
            }
            print line
            printf "- apart from those as well: mymalloc-rt largest malloc %s ns (%.1f x p99), free %s ns (%.1f x p99); the control %s ns.\n",
                v[r, "small_malloc_max"], (v[r, "malloc_p99"] > 0 ? v[r, "small_malloc_max"] / v[r, "malloc_p99"] : 0),
                v[r, "small_free_max"], (v[r, "free_p99"] > 0 ? v[r, "small_free_max"] / v[r, "free_p99"] : 0),
                v[r, "small_control_max"]
            print ""
            print "Verdict for malloc and free (realloc copies up to 16 KiB: O(size) in every allocator): " \
                (fails == "" ? "the goal HOLDS." : "the goal does NOT hold (" substr(fails, 2) ").")
        }' "$OUT/medians.csv"
}

# ---- the chart ------------------------------------------------------------------
chart_note="gnuplot is not installed (apt-get install gnuplot-nox): no chart."
if command -v gnuplot >/dev/null 2>&1; then
    plots=
    for mix in 0 1; do
        for call in malloc free; do
            title=$([ $mix = 0 ] && echo steady || echo fragmenting)
            plot="set title \"$call, $title mix\"; plot"
            sep=
            for a in $ALLOCATORS; do
                f=$OUT/cdf-$a-$mix.txt
                [ -s "$f" ] || continue
                plot="$plot$sep \"< awk '\$1 == \\\"$call\\\" && \$2 > 0' $f\" using 2:3 with lines lw 2 title \"$a\""
                sep=,
            done
            f=$OUT/cdf-mymalloc-rt-$mix.txt
            [ -s "$f" ] && plot="$plot$sep \"< awk '\$1 == \\\"control\\\" && \$2 > 0' $f\" using 2:3 with lines lw 2 dt 2 lc rgb \"gray40\" title \"control (mymalloc-rt's run)\""
            plots="$plots$plot
"
        done
    done
    gnuplot <<EOF
set terminal pngcairo size 1400,1000 font ",10"
set output "$PNG"
set multiplot layout 2,2 title "Latency tail: fraction of calls slower than x (log-log; last of $REPS runs, $STEPS calls each; lower-left is better)"
set logscale xy
set xlabel "ns"
set ylabel "fraction slower"
set format y "10^{%L}"
set grid
set key top right
$plots
unset multiplot
EOF
    chart_note="![latency tails]($(basename "$PNG"))"
    [ -s "$PNG" ] || chart_note="gnuplot failed: no chart."
fi

# ---- instruction bounds, reliability, robustness ------------------------------------
echo "report.sh: rt heap instruction bounds (callgrind)"
instr=$(nice tests/rt/instr.sh "$BUILD/tests/rt/rt_test-white" "$BUILD/tests/rt/rt_test-dropin" 2>&1)
instr_rc=$?
echo "report.sh: fault injection, 30000 flips"
inject=$(nice "$BUILD/ecc-inject" --flips=30000 --rate=5000 --seed=1 --log="$OUT/inject_flips.log" \
    -- "$BUILD/tests/ecc/workload" --workers=2 2>&1)
inject_rc=$?
echo "report.sh: stress runs"
stress_core=$(nice "$BUILD/tests/core/stress" --threads=2 --ops=200000 --runs=1 2>&1)
stress_core_rc=$?
stress_m5=$(nice "$BUILD/tests/m5/stress" --threads=2 --ops=150000 --runs=1 --pthread 2>&1)
stress_m5_rc=$?
echo "report.sh: robustness tests (tests/run.sh)"
robust=$(nice tests/run.sh 'api/checked|exhaust|fuzz|pool/bad|rt/bad|ecc/api' 2>&1)
robust_rc=$?

status() { [ "$1" = 0 ] && echo "passed" || echo "FAILED (exit $1)"; }
figures() { sed -n 's/^FIGURES: *//p' | tr '\n' ' '; }
# what each robustness test checks
describe() {
    case $1 in
    api/checked) echo "the checked build's reports: double free, invalid (interior, foreign, misaligned) free, overruns; each detected and reported, exit status as documented" ;;
    core/exhaust-cap | m5/exhaust-cap-* | asan/exhaust-cap) echo "the page provider capped: malloc returns NULL with ENOMEM, no crash, recovers once memory is freed, threads at the cap" ;;
    core/exhaust-fault | m5/exhaust-fault-* | asan/exhaust-fault) echo "every k-th page request refused (nulls@k: NULLs seen): each failure is a clean NULL, never corruption" ;;
    */exhaust-sizes) echo "sizes 0, SIZE_MAX, overflowing calloc/realloc/aligned sizes: NULL and errno as the malloc family's" ;;
    pool/exhaust) echo "pools when memory runs out: NULL, pool still usable" ;;
    rtmode/exhaust) echo "real-time mode, 8 MiB arena: NULL with ENOMEM at the end of the arena, reuse after frees" ;;
    fuzz/*) echo "libFuzzer drives malloc/free/realloc/calloc/aligned sequences with tag checks (time and runs in the log)" ;;
    rt/bad | rt/*-bad) echo "rt heap: double and foreign rt_free reported with nothing changed, corrupted headers found by rt_heap_check, sizes 0 and SIZE_MAX, bad alignments" ;;
    pool/bad*) echo "pools given bad pointers and wrong pools: reported, nothing changed" ;;
    ecc/api*) echo "protected memory's calls: bit flips in data and metadata corrected or reported, bad arguments" ;;
    *) echo "see its suite" ;;
    esac
}
robust_rows=$(echo "$robust" | awk '/^(PASS|FAIL) /' | while read -r st name secs rest; do
    echo "| $name | $st | $secs | $(describe "$name") | ${rest:-} |"
done)
fuzz_log=$BUILD/tests/logs/fuzz_ops.log
fuzz_line=-
[ -f "$fuzz_log" ] && fuzz_line=$(grep -E 'Done [0-9]+ runs in [0-9]+ second' "$fuzz_log" | tail -1)
soak_lines=$(for f in "$BUILD"/tests/logs/*soak*.log; do
    [ -f "$f" ] || continue
    fig=$(figures <"$f")
    [ -n "$fig" ] && echo "- $(basename "$f" .log) ($(date -u -r "$f" '+%Y-%m-%d')): $fig"
done)

# ---- docs/3R.md ---------------------------------------------------------------------
RESULTS=$BUILD/bench/results.md
{
    echo "# The 3R report: reliable, robust, real-time"
    echo
    echo "Generated by \`make report-3r\` (bench/rt3r/report.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $NPROC CPUs, $(uname -sr)."
    echo "Every figure below was measured by that run, except the benchmark table, read from"
    echo "build/bench/results.md (\`make bench\`), and soak figures, read from the soak logs."
    echo
    echo "## Real-time"
    echo
    echo "### Instruction bounds of the rt heap (tests/rt/instr.sh, callgrind, every call of an adversarial sequence): $(status $instr_rc)"
    echo
    echo '```'
    echo "$instr" | grep -E '^(rt_|FIGURES|FAIL)'
    echo '```'
    echo
    echo "### Latency of single calls"
    echo
    echo "bench/micro/latency: $STEPS timed steps after $WARMUP untimed ones, each a free, a malloc and"
    echo "a realloc timed alone (lfence; rdtsc; lfence), 4096 live blocks of 8 B..16 KiB; the thread pinned"
    echo "to CPU $CPU, its memory locked (mlockall on fault; its own arrays and stack prefaulted) and, when"
    echo "root, at SCHED_FIFO priority $FIFO (no other task runs on that CPU during a run, except for the"
    echo "kernel's real-time throttling, 50 ms a second). The runs said: $run_status."
    echo "Load average (1, 5, 15 min) before the latency runs: $load_before; after: $load_after"
    echo "(the machine is shared: other users' work runs on the other CPU); $latency_seconds s in all."
    echo "Steady mix: log-uniform sizes throughout. Fragmenting mix: 8 phases, each drawing from"
    echo "one quarter (in log scale) of the range, in the order small, large, medium-small, medium-large,"
    echo "frees in random order. Cells: ns / TSC cycles, the median of $REPS runs (interleaved), after"
    echo "taking off the median cost of an empty timed region. The TSC counts at the nominal frequency;"
    echo "on this virtual machine it may step by about 10 ns."
    echo
    echo "**Identified outliers.** Every sample above $SLOW_NS ns (\"slow samples\") is classified after the"
    echo "run against the kernel's own record of what happened to the thread: perf events with a"
    echo "time stamp each, written by the kernel into a ring buffer mapped into the process (no"
    echo "system call in the timed loop; bench/rt3r/platform_events.h): the local timer interrupt,"
    echo "IPIs (reschedule, function call, irq work), device interrupts, softirqs, NMIs and context"
    echo "switches (\"switch\": preempted) are the platform's; page faults and system calls (mmap,"
    echo "munmap, madvise) are the allocator's own and are not excluded. A sample whose window holds"
    echo "a platform event is an identified outlier, under that cause. A slow sample above 2 us with no"
    echo "event is checked for time taken by the hypervisor (\"stolen\"): the thread's CPU time (which, with paravirtual steal"
    echo "accounting, excludes steal) against the wall clock since the last check; at least half of"
    echo "the sample missing from CPU time, with no context switch in that interval, counts as stolen."
    echo "\"Max excluding identified outliers\" is the largest sample with no platform cause; \"unexplained\""
    echo "counts the slow samples with no event at all: the allocator's own slow paths in user space"
    echo "(cache and TLB misses, long list walks), and whatever the platform does that the guest"
    echo "cannot see (the host's own interrupts and exits are not steal). The"
    echo "control measures the latter: a fixed function of about 60 instructions timed the same way at"
    echo "every step of the same runs, so the platform's own spikes are measured beside each allocator."
    echo "Counters of the classification read before and after a long interval (/proc/interrupts,"
    echo "/proc/stat steal, which counts 10 ms ticks) cannot attribute a spike: the timer alone moves"
    echo "/proc/interrupts every 4 ms; they are given per run (timer interrupts, steal) as a check."
    echo "Page faults are the thread's over the timed steps."
    echo
    echo "Allocators: glibc and each installed peer preloaded as in bench/run.sh; mymalloc"
    echo "(build/libmymalloc.so); mymalloc-rt, the real-time mode (build/libmymalloc-rt.so, a 512 MiB"
    echo "arena mapped, faulted in and locked at start-up, outside the timed region); rt-heap, the same"
    echo "program built against the rt heap (rt_malloc/rt_free/rt_realloc on a pre-faulted heap of"
    echo "rt_heap_required(M, 16 KiB) bytes, M the exact peak of live bytes of the run's trace)."
    for mix in 0 1; do
        for call in malloc free realloc; do
            echo
            echo "#### $call, $([ $mix = 0 ] && echo steady || echo fragmenting) mix"
            echo
            latency_table $mix $call
        done
        echo
        echo "#### The control, $([ $mix = 0 ] && echo steady || echo fragmenting) mix (ns)"
        echo
        control_table $mix
    done
    echo
    echo "$chart_note"
    echo
    echo "### The goal: \"mymalloc's real-time mode has the lowest max and p99.99 of all, and its max is within 3x its p99 apart from preemption outliers\""
    echo
    echo "Judged on the max excluding the identified outliers (every sample with an interrupt, context"
    echo "switch or stolen time inside it); the raw max is given beside it. The spikes above 2 us that"
    echo "no guest event or steal explains are not excluded: they cannot be told apart sample by sample."
    echo "Their rate per second inside the timed regions is given beside the control's (a function of"
    echo "about 60 instructions, no memory access: any such spike on it is the platform's), and so is"
    echo "the largest sample once they too are set aside: that figure assumes they are the platform's"
    echo "(the rt paths run at most 150 instructions with no fault and no system call)."
    for mix in 0 1; do
        echo
        echo "$([ $mix = 0 ] && echo Steady || echo Fragmenting) mix:"
        echo
        goal_verdict $mix
        echo
        echo "Unexplained slow samples of the rt modes (above $SLOW_NS ns, no cause; the last run; sizes log-uniform"
        echo "in the steady mix, so about 2 in 11 blocks are above 4 KiB):"
        echo
        slow_summary $mix
    done
    if [ -s "$OUT/failures.log" ]; then
        echo
        echo "Failed latency runs:"
        echo
        grep '^== ' "$OUT/failures.log" | sed 's/^== /- /'
    fi
    echo
    echo "## Reliable"
    echo
    echo "- Fault injection into protected memory (build/ecc-inject --flips=30000 --rate=5000 --seed=1"
    echo "  into tests/ecc/workload --workers=2, the size of the test ecc/inject): $(status $inject_rc)."
    echo "  Figures: $(echo "$inject" | figures)"
    echo "- Stress, library core (build/tests/core/stress --threads=2 --ops=200000): $(status $stress_core_rc)."
    echo "  Figures: $(echo "$stress_core" | figures)"
    echo "- Stress, M5 (build/tests/m5/stress --threads=2 --ops=150000 --pthread): $(status $stress_m5_rc)."
    echo "  Figures: $(echo "$stress_m5" | figures)"
    echo
    if [ -n "$soak_lines" ]; then
        echo "Soak runs (\`make soak\`), from their logs:"
        echo
        echo "$soak_lines"
    else
        echo "No soak log in $BUILD/tests/logs: run \`make soak\` (about 11 minutes) for the soak figures."
    fi
    echo
    echo "## Robust"
    echo
    echo "tests/run.sh 'api/checked|exhaust|fuzz|pool/bad|rt/bad|ecc/api': $(status $robust_rc);"
    echo "$(echo "$robust" | tail -1)."
    echo
    echo "| test | result | seconds | what it tries | figures |"
    echo "|---|---|---:|---|---|"
    echo "$robust_rows"
    echo
    echo "- Fuzzing (fuzz/ops, libFuzzer, seed 1, 30 s per test run): ${fuzz_line:-no summary line in the log};"
    echo "  findings: $(echo "$robust" | grep -q '^FAIL  fuzz' && echo "a failure, see $fuzz_log" || echo "none (the run ended without a crash or failed check)")."
    echo "- Double-free and invalid-free detection: api/checked (tests/api/checked.c) frees twice, frees"
    echo "  interior, foreign and misaligned pointers, and checks each one is reported: $(echo "$robust" | grep -q '^PASS  api/checked' && echo "all detected" || echo "NOT all detected, see its log");"
    echo "  the rt heap's rt/bad does the same for rt_free (a double or foreign free changes nothing)."
    echo "- Exhaustion: the exhaust tests above (NULL and ENOMEM, recovery after frees; nulls@k counts"
    echo "  the NULLs when every k-th page request is refused)."
    echo
    echo "## Speed and memory against the peers (make bench)"
    echo
    if [ -f "$RESULTS" ]; then
        echo "From $RESULTS: $(sed -n 3p "$RESULTS")"
        echo
        awk '/^### (Wall time|Peak RSS)/ { title = $0; sub(/^### /, "", title); want = 1; n = 0; next }
             want && /^\|/ { n++; if (n <= 2) hdr[n] = $0
                             if ($0 ~ /geomean/) { print "**" title "**"; print ""; print hdr[1]; print hdr[2]; print $0; print ""; want = 0 } }' "$RESULTS"
    else
        echo "$RESULTS does not exist: run \`make bench\` first, then \`make report-3r\`."
    fi
} >"$DOC"
echo "report.sh: wrote $DOC$([ -s "$PNG" ] && echo " and $PNG") in $(($(date +%s) - start)) s"
