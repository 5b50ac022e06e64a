#!/bin/bash
# bench/ecc/run.sh: protected memory's benchmark (run by bench/run.sh at the
# end of `make bench`; alone after `make bench-build`). One run of
# $BUILD/bench/ecc/ecc_bench (both codes, memcpy, the scrub, the SECDED
# kernels, the storage cost) and of ecc_bench_off (the module built with
# ECC_PROTECTION_OFF: the calls without protection); each figure is the
# median of 7 runs inside the program. Tables in $BUILD/bench/ecc/results.md
# (printed), the rows in results.csv.
#
# Environment: BUILD (build), QUICK=1 (16 MiB per run instead of 64 MiB).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/bench/ecc
for p in ecc_bench ecc_bench_off; do
    [ -x "$OUT/$p" ] || { echo "ecc/run.sh: $OUT/$p is missing: run make bench-build"; exit 2; }
done
case "${QUICK:-}" in 1 | yes | true) ARGS=--quick ;; *) ARGS= ;; esac
CSV=$OUT/results.csv
MD=$OUT/results.md
{ nice "$OUT/ecc_bench" $ARGS && nice "$OUT/ecc_bench_off" $ARGS; } >"$CSV" || {
    echo "ecc/run.sh: the benchmark failed"; exit 1; }

awk -F, '
function size_name(s) { return s >= 1048576 ? s / 1048576 " MiB" : s >= 1024 ? s / 1024 " KiB" : s " B" }
$1 == "read" || $1 == "write" { mb[$1, $2, $3] = $4; sizes[$3] = 1 }
$1 == "read8" { ns[$2] = $4 }
$1 == "scrub" { scrub[$2] = $4 }
$1 == "kernel" { kernel[++nk] = $2; kmb[$2] = $4 }
$1 == "storage" { st[++ns_] = $0 }
$1 == "info" { chosen = $3 }
END {
    print "### Protected memory: throughput (MB/s, median of 7; ratio to memcpy of the same transfers)\n"
    print "| transfer | op | memcpy | SECDED | SECDED/memcpy | TMR | TMR/memcpy | protection off | off/memcpy |"
    print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    n = split("8 64 4096 1048576", order, " ")
    for (i = 1; i <= n; i++) for (o = 1; o <= 2; o++) {
        op = o == 1 ? "read" : "write"; s = order[i]; m = mb[op, "memcpy", s]
        printf "| %s | %s | %d | %d | %.2f | %d | %.2f | %d | %.2f |\n", size_name(s), op, m,
            mb[op, "secded", s], mb[op, "secded", s] / m, mb[op, "tmr", s], mb[op, "tmr", s] / m,
            mb[op, "off", s], mb[op, "off", s] / m
    }
    printf "\n8-byte read latency (ns per call): SECDED %s, TMR %s, protection off %s, memcpy %s\n",
        ns["secded"], ns["tmr"], ns["off"], ns["memcpy"]
    printf "\nScrub (MB/s of storage checked): SECDED %s, TMR %s\n", scrub["secded"], scrub["tmr"]
    print "\n### SECDED encoders (MB/s of data encoded, 1 MiB)\n"
    print "| encoder | MB/s | vs bit by bit |"
    print "| --- | ---: | ---: |"
    for (i = 1; i <= nk; i++)
        printf "| %s | %d | %.0fx |\n", kernel[i], kmb[kernel[i]], kmb[kernel[i]] / kmb["bit-by-bit"]
    printf "\nThe library uses: %s\n", chosen
    print "\n### Storage per block (bytes; + 104 bytes of metadata per block in the table)\n"
    print "| size | code | storage | overhead | mapped (pages) |"
    print "| ---: | --- | ---: | ---: | ---: |"
    for (i = 1; i <= ns_; i++) {
        split(st[i], f, ",")
        printf "| %s | %s | %d | %.1f%% | %d |\n", f[3], f[2], f[4], 100 * (f[4] / f[3] - 1), f[5]
    }
}' "$CSV" >"$MD"
cat "$MD"
