#!/usr/bin/env bash
# check_amalgamation.sh: the kernel drop-in as a kernel takes it. A copy of
# $BUILD/kernel/kalloc.c and kalloc.h, alone in a temporary directory:
#   1. compiles with exactly gcc -std=gnu11 -O2 -ffreestanding -fno-builtin
#      -nostdlib -c kalloc.c and leaves no symbol undefined but
#      kalloc_cpu_current and kalloc_cpu_count;
#   2. does the same with -nostdinc (the compiler's own headers only), with
#      -DKALLOC_SINGLE_LOCK, for 32-bit x86 as AbstractMachine's x86-qemu
#      builds (-m32 -fno-pic, with -march=i486 for cmpxchg), and with clang;
#   3. with an interrupt hook defined, references the hook's functions too;
#   4. compiles without a warning under -Wall -Wextra -Wshadow
#      -Wstrict-prototypes -Wmissing-prototypes -Wconversion;
#   5. is small: text, data and bss are printed; data + bss must stay
#      under 64 bytes (all metadata lives in the heap).
set -u
BUILD=${BUILD:-build}
src=$BUILD/kernel
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/kalloc.c" "$src/kalloc.h" "$tmp/" || { echo "FAIL: no $src/kalloc.[ch]"; exit 1; }
cd "$tmp"

# compile OBJECT ALLOWED-UNDEFINED COMPILER-AND-FLAGS...
compile() {
    local obj=$1 allowed=$2
    shift 2
    if ! "$@" -c kalloc.c -o "$obj" >"$obj.log" 2>&1; then
        fail "$* does not compile:"
        sed 's/^/    /' "$obj.log" | head -20
        return
    fi
    local extra
    extra=$(nm -u "$obj" | awk '{ print $2 }' | grep -vxE "kalloc_cpu_current|kalloc_cpu_count$allowed")
    echo "$*: undefined: $(nm -u "$obj" | awk '{ print $2 }' | tr '\n' ' ')"
    [ -z "$extra" ] || fail "$*: references $(echo $extra)"
}

exact="gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib"
compile exact.o "" $exact
compile nostdinc.o "" $exact -nostdinc -isystem "$(gcc -print-file-name=include)"
compile single.o "" $exact -DKALLOC_SINGLE_LOCK
compile i486.o "" $exact -m32 -fno-pic -march=i486 -Wno-psabi
compile clang.o "" clang -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib
cat >irq.h <<'H'
unsigned long irq_save(void);
void irq_restore(unsigned long saved);
#define KALLOC_IRQ_SAVE() irq_save()
#define KALLOC_IRQ_RESTORE(saved) irq_restore(saved)
H
compile irq.o "|irq_save|irq_restore" $exact -include irq.h
nm -u irq.o | grep -q irq_save || fail "the interrupt hook is not called"

if ! $exact -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wconversion \
        -c kalloc.c -o warn.o >warn.log 2>&1 || [ -s warn.log ]; then
    fail "warnings:"
    sed 's/^/    /' warn.log | head -20
fi

read -r text data bss < <(size exact.o | awk 'NR == 2 { print $1, $2, $3 }')
echo "kalloc.o: text $text, data $data, bss $bss bytes"
[ $((data + bss)) -lt 64 ] || fail "static data is $((data + bss)) bytes"
echo "FIGURES: text=${text}B data=${data}B bss=${bss}B"
if [ "$failures" -eq 0 ]; then
    echo "RESULT: check_amalgamation passed"
    exit 0
fi
echo "RESULT: check_amalgamation FAILED ($failures)"
exit 1
