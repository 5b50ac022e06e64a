#!/bin/sh
# pair.sh: ns and instructions per malloc+free pair at 16 and 64 bytes, for
# glibc, the mymalloc library and the M5 drop-in, in one run. Needs `make`
# first, and valgrind for the instruction counts.
set -eu
cd "$(dirname "$0")/.."
out=build/bench
mkdir -p "$out"
cc=${CC:-gcc}
$cc -O2 -DBENCH_LIBC bench/pair.c -o "$out/pair-glibc"
$cc -O2 -Iinclude bench/pair.c build/libmymalloc.a -lpthread -o "$out/pair-mymalloc"
$cc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c build/m5/mymalloc.c -o "$out/m5.o"
$cc -O2 -Ibuild/m5 bench/pair.c bench/vm_mmap_provider.c "$out/m5.o" -o "$out/pair-m5"
calls=200000
for size in 16 64; do
    for a in glibc mymalloc m5; do
        timing=$("$out/pair-$a" "$size")
        if command -v valgrind >/dev/null 2>&1; then
            base=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/pair-$a" "$size" 1 2>&1 |
                sed -n 's/.*refs: *//p' | tr -d ,)
            total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/pair-$a" "$size" $calls 2>&1 |
                sed -n 's/.*refs: *//p' | tr -d ,)
            instr=$(( (total - base) / (calls - 1) ))
        else
            instr="n/a"
        fi
        printf '%-9s %s; %s instructions per pair\n' "$a" "$timing" "$instr"
    done
done
