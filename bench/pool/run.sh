#!/bin/bash
# bench/pool/run.sh: the pool benchmark (run by bench/run.sh at the end of
# `make bench`; alone after `make bench-build`). Installs nothing: a peer
# that is missing (APR, talloc, jemalloc, ...) prints its apt-get line and
# its column is skipped.
#
#   request   requests per second and peak RSS of the request workload
#             (bench/pool/request.c) at 1 and 2 threads: mymalloc region
#             pools (a pool cleared per request; a sub-pool per request),
#             APR pools, talloc, malloc/free on glibc and on mymalloc
#   cache     millions of operations per second of the object-cache
#             workload (bench/pool/cache.c), objects of 64 and 256 bytes,
#             1 and 2 threads, cross-thread frees: fixed-size pools (per
#             CPU, one lock, one thread) against malloc/free of glibc,
#             mymalloc and each installed peer
#   ops       callgrind instructions per palloc and per pfree (and per
#             mymalloc/myfree) in steady state, loop included
# Medians of REPS runs (3), interleaved (each repetition runs every
# allocator in turn). Tables in $BUILD/bench/pool/results.md (printed),
# every run in runs.csv.
#
# Environment: BUILD (build), QUICK=1 (a tenth of the work), REPS (3).
set -u
cd "$(dirname "$0")/../.."
unset LD_PRELOAD
BUILD=${BUILD:-build}
OUT=$BUILD/bench/pool
REPS=${REPS:-3}
case "${QUICK:-}" in
1 | yes | true) REQUESTS=40000 OPS=4000000 ;;
*) REQUESTS=400000 OPS=40000000 ;;
esac
MYMALLOC_SO=$(cd "$BUILD" && pwd)/libmymalloc.so
LIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
CSV=$OUT/runs.csv
MD=$OUT/results.md
for p in request-pool request-peers cache-pool cache-plain ops; do
    [ -x "$OUT/$p" ] || { echo "pool/run.sh: $OUT/$p is missing: run make bench-build"; exit 2; }
done

# ---- which peers ------------------------------------------------------------
PEERS_REQ=""
missing=""
for peer in apr:apr-1:libapr1-dev talloc:talloc:libtalloc-dev; do
    IFS=: read -r name pc pkg <<<"$peer"
    if pkg-config --exists "$pc" 2>/dev/null; then
        PEERS_REQ="$PEERS_REQ $name"
    else
        echo "pool/run.sh: $name is not installed; to include it: apt-get install -y $pkg"
        missing="$missing $pkg"
    fi
done
# malloc peers for the object cache: name, preload, package
malloc_peers=(jemalloc:libjemalloc.so.2:libjemalloc2 tcmalloc:libtcmalloc_minimal.so.4:libtcmalloc-minimal4
    mimalloc:libmimalloc.so.2:libmimalloc2.0)
PEERS_MALLOC=""
for peer in "${malloc_peers[@]}"; do
    IFS=: read -r name lib pkg <<<"$peer"
    if [ -e "$LIBDIR/$lib" ]; then
        PEERS_MALLOC="$PEERS_MALLOC $name"
    else
        echo "pool/run.sh: $name is not installed; to include it: apt-get install -y $pkg"
        missing="$missing $pkg"
    fi
done
[ -n "$missing" ] && echo "pool/run.sh: to install every missing peer: apt-get install -y$missing"
preload_of() {
    for peer in "${malloc_peers[@]}"; do
        IFS=: read -r name lib pkg <<<"$peer"
        [ "$name" = "$1" ] && echo "$LIBDIR/$lib"
    done
}

failed=0
echo "workload,allocator,size,threads,rep,value,peak_rss_kib" >"$CSV"

# run WORKLOAD ALLOCATOR SIZE THREADS REP COMMAND...: one run into the CSV.
run() {
    local workload=$1 allocator=$2 size=$3 threads=$4 rep=$5
    shift 5
    local line
    if ! line=$(timeout 300 nice "$@" 2>&1); then
        echo "pool/run.sh: FAILED: $*: $line"
        failed=1
        return
    fi
    local value rss
    value=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p; s/.* mops=\([0-9.]*\).*/\1/p' <<<"$line")
    rss=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$line")
    echo "$workload,$allocator,$size,$threads,$rep,$value,$rss" >>"$CSV"
}

# ---- request workload ---------------------------------------------------------
REQ_ALLOCS="pool pool-sub$PEERS_REQ malloc-glibc malloc-mymalloc"
for rep in $(seq "$REPS"); do
    for t in 1 2; do
        n=$((REQUESTS / t))
        for a in $REQ_ALLOCS; do
            case $a in
            pool | pool-sub) run request "$a" - "$t" "$rep" "$OUT/request-pool" "$a" "$t" "$n" ;;
            malloc-glibc) run request "$a" - "$t" "$rep" "$OUT/request-peers" malloc "$t" "$n" ;;
            malloc-mymalloc) run request "$a" - "$t" "$rep" env LD_PRELOAD="$MYMALLOC_SO" \
                "$OUT/request-peers" malloc "$t" "$n" ;;
            *) run request "$a" - "$t" "$rep" "$OUT/request-peers" "$a" "$t" "$n" ;;
            esac
        done
    done
done

# ---- object-cache workload ----------------------------------------------------
CACHE_ALLOCS="pool pool-shared pool-local malloc-mymalloc malloc-glibc$(printf ' malloc-%s' $PEERS_MALLOC)"
for rep in $(seq "$REPS"); do
    for size in 64 256; do
        for t in 1 2; do
            n=$((OPS / t))
            for a in $CACHE_ALLOCS; do
                case $a in
                pool | pool-shared) run cache "$a" "$size" "$t" "$rep" "$OUT/cache-pool" "$a" "$size" "$t" "$n" ;;
                pool-local) [ "$t" = 1 ] && run cache "$a" "$size" "$t" "$rep" "$OUT/cache-pool" "$a" "$size" 1 "$n" ;;
                malloc-mymalloc) run cache "$a" "$size" "$t" "$rep" "$OUT/cache-pool" malloc "$size" "$t" "$n" ;;
                malloc-glibc) run cache "$a" "$size" "$t" "$rep" "$OUT/cache-plain" malloc "$size" "$t" "$n" ;;
                *) run cache "$a" "$size" "$t" "$rep" env LD_PRELOAD="$(preload_of "${a#malloc-}")" \
                    "$OUT/cache-plain" malloc "$size" "$t" "$n" ;;
                esac
            done
        done
    done
done

# ---- tables ---------------------------------------------------------------------
# median WORKLOAD ALLOCATOR SIZE THREADS COLUMN(6 value, 7 rss)
median() {
    awk -F, -v w="$1" -v a="$2" -v s="$3" -v t="$4" -v c="$5" '
        $1 == w && $2 == a && $3 == s && $4 == t { v[n++] = $c }
        END {
            if (n == 0) { print "-"; exit }
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
            print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
        }' "$CSV"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

{
    echo "## Pools: request workload (requests/s, median of $REPS; peak RSS KiB)"
    echo
    echo "Each request: 20-500 objects of 16-512 B and 1-3 strings of 64 B-4 KiB, each touched (one 8-byte word written per cache line it spans), its first word read back at the end, then all freed together. $REQUESTS requests in all per run."
    echo
    echo "| allocator | 1 thread req/s | peak RSS | x APR | x talloc | x glibc malloc | 2 threads req/s | peak RSS | x APR | x talloc | x glibc malloc |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for a in $REQ_ALLOCS; do
        row="| $a"
        for t in 1 2; do
            v=$(median request "$a" - "$t" 6)
            r=$(median request "$a" - "$t" 7)
            row="$row | $v | $r | $(ratio "$v" "$(median request apr - "$t" 6)") | $(ratio "$v" "$(median request talloc - "$t" 6)") | $(ratio "$v" "$(median request malloc-glibc - "$t" 6)")"
        done
        echo "$row |"
    done
    echo
    echo "## Pools: object cache (millions of operations/s, median of $REPS)"
    echo
    echo "Random allocations and frees over 4096 slots per thread; with 2 threads a quarter of the frees happen on the other thread. $OPS operations in all per run."
    echo
    echo "| allocator | 64 B, 1 thr | x mymalloc | 64 B, 2 thr | x mymalloc | 256 B, 1 thr | x mymalloc | 256 B, 2 thr | x mymalloc |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for a in $CACHE_ALLOCS; do
        row="| $a"
        for size in 64 256; do
            for t in 1 2; do
                v=$(median cache "$a" "$size" "$t" 6)
                row="$row | $v | $(ratio "$v" "$(median cache malloc-mymalloc "$size" "$t" 6)")"
            done
        done
        echo "$row |"
    done
    echo
    echo "## Pools: callgrind instructions per operation (64 B, steady state, loop included)"
    echo
    if command -v valgrind >/dev/null 2>&1; then
        echo "| operation | instructions |"
        echo "| --- | ---: |"
        count=100000
        for l in "region palloc:region:loop_region_palloc" \
            "fixed palloc:fixed:loop_fixed_palloc" "fixed pfree:fixed:loop_fixed_pfree" \
            "fixed POOL_SHARED palloc:fixed-shared:loop_fixed_palloc" \
            "fixed POOL_SHARED pfree:fixed-shared:loop_fixed_pfree" \
            "fixed POOL_PER_CPU palloc:fixed-per-cpu:loop_fixed_palloc" \
            "fixed POOL_PER_CPU pfree:fixed-per-cpu:loop_fixed_pfree" \
            "mymalloc(64):malloc:loop_malloc" "myfree:malloc:loop_free"; do
            IFS=: read -r label mode fn <<<"$l"
            ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect="$fn" \
                "$OUT/ops" "$mode" "$count" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,)
            echo "| $label | $([ -n "$ir" ] && echo $((ir / count)) || echo n/a) |"
        done
        echo
        echo "(Under valgrind, POOL_PER_CPU's sched_getcpu takes its slow path, about 30 instructions a call; natively glibc reads the CPU from rseq.)"
    else
        echo "valgrind is not installed (apt-get install -y valgrind): no counts"
    fi
} >"$MD"
cat "$MD"
echo "pool/run.sh: tables in $MD, runs in $CSV"
exit $failed
