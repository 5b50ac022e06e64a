#!/bin/sh
# churn.sh: thread-local churn (bench/churn.c) on glibc, the mymalloc library
# and the M5 drop-in, interleaved, RUNS runs each (default 5), at 1, 2 and 32
# threads; prints the median Mops/s and the ratios to glibc. MIX=small (the
# default: 1..128 bytes) or MIX=mix (15/16 8..128, 1/16 129..4096 bytes,
# 1024 live blocks a thread). Needs `make`.
set -eu
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
mix=${MIX:-small}
out=build/bench
mkdir -p "$out"
cc=${CC:-gcc}
$cc -O2 -DBENCH_LIBC bench/churn.c -lpthread -o "$out/churn-glibc"
$cc -O2 -Iinclude bench/churn.c build/libmymalloc.a -lpthread -o "$out/churn-mymalloc"
$cc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c build/m5/mymalloc.c -o "$out/m5.o"
$cc -O2 -Ibuild/m5 bench/churn.c bench/vm_mmap_provider.c "$out/m5.o" -lpthread -o "$out/churn-m5"

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%-8s %10s %10s %10s %9s %9s\n' threads glibc mymalloc m5 my/glibc m5/glibc
for n in 1 2 32; do
    for a in glibc mymalloc m5; do : >"$out/churn.$a"; done
    i=0
    while [ "$i" -lt "$runs" ]; do
        for a in glibc mymalloc m5; do "$out/churn-$a" "$n" 40000000 "$mix" >>"$out/churn.$a"; done
        i=$((i + 1))
    done
    g=$(median <"$out/churn.glibc"); m=$(median <"$out/churn.mymalloc"); f=$(median <"$out/churn.m5")
    awk -v n="$n" -v g="$g" -v m="$m" -v f="$f" 'BEGIN {
        printf "%-8s %10.1f %10.1f %10.1f %9.2f %9.2f\n", n, g, m, f, m / g, f / g }'
done
