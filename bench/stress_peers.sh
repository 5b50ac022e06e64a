#!/bin/sh
# stress_peers.sh: the test kit's concurrent stress on glibc, on the mymalloc
# library and on the M5 drop-in (pthreads), in one run, interleaved, at 1, 2
# and 32 threads. Prints the median of RUNS runs of mymalloc+myfree calls per
# second for the full stress (every byte tagged and checked) and the light one
# (block ends tagged). Needs `make test-build` first.
set -eu
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
out=build/bench
mkdir -p "$out"
t=build/tests
gcc -O2 -c bench/glibc_shim.c -o "$out/glibc_shim.o"
gcc "$t/core/stress.o" "$t/core/testlib.o" "$t/core/provider.o" "$t/core/stress_engine.o" \
    "$out/glibc_shim.o" -lpthread -o "$out/stress-glibc"

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
rate() { sed -n 's/.* = \([0-9]*\) calls\/s.*/\1/p'; }

printf '%-6s %-8s %14s %14s %14s %9s %9s\n' mode threads glibc mymalloc m5 my/glibc m5/glibc
for mode in full light; do
    flag=; [ "$mode" = light ] && flag=--light
    for n in 1 2 32; do
        : >"$out/r.glibc"; : >"$out/r.my"; : >"$out/r.m5"
        i=0
        while [ "$i" -lt "$runs" ]; do
            "$out/stress-glibc" --threads="$n" $flag | rate >>"$out/r.glibc"
            "$t/core/stress" --threads="$n" $flag | rate >>"$out/r.my"
            "$t/m5/stress" --threads="$n" $flag | rate >>"$out/r.m5"
            i=$((i + 1))
        done
        g=$(median <"$out/r.glibc"); m=$(median <"$out/r.my"); f=$(median <"$out/r.m5")
        awk -v mode="$mode" -v n="$n" -v g="$g" -v m="$m" -v f="$f" 'BEGIN {
            printf "%-6s %-8s %14d %14d %14d %9.2f %9.2f\n", mode, n, g, m, f, m / g, f / g }'
    done
done
