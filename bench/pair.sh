#!/bin/sh
# pair.sh: ns and instructions per malloc+free pair at 16 and 64 bytes, for
# glibc, the mymalloc library and the M5 drop-in, in one run. Needs `make`
# first, and valgrind for the instruction counts (the M5 drop-in's is that
# of its RDTSCP path: valgrind's virtual CPU does not offer RDPID, which the
# drop-in uses natively where the CPU has it; a valgrind that offered it
# without decoding it would make the count n/a).
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
        instr="n/a"
        if command -v valgrind >/dev/null 2>&1; then
            base_run=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/pair-$a" "$size" 1 2>&1) || true
            total_run=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/pair-$a" "$size" $calls 2>&1) || true
            if printf '%s\n%s\n' "$base_run" "$total_run" | grep -q 'Illegal opcode'; then
                # The M5 drop-in finds its CPU with RDPID, which valgrind cannot decode.
                instr="n/a (valgrind cannot decode RDPID)"
            else
                base=$(printf '%s\n' "$base_run" | sed -n 's/.*refs: *//p' | tr -d ,)
                total=$(printf '%s\n' "$total_run" | sed -n 's/.*refs: *//p' | tr -d ,)
                instr=$(( (total - base) / (calls - 1) ))
            fi
        fi
        printf '%-9s %s; instructions per pair: %s\n' "$a" "$timing" "$instr"
    done
done
