#!/usr/bin/env bash
# check_freestanding.sh: the allocator needs nothing but vmalloc and vmfree.
#
#  1. The library core objects ($CORE_OBJS) together leave no symbol
#     undefined but vmalloc and vmfree (symbols one core object defines for
#     another are fine; so is _GLOBAL_OFFSET_TABLE_, which the linker itself
#     provides to position-independent code).
#  1b. So do the modules' objects ($MODULE_OBJS: src/pool, src/ecc, ...)
#     linked with the core: they reach the system only through the platform.
#  2. The M5 amalgamation, copied alone into a temporary directory, compiles
#     exactly as `gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c
#     mymalloc.c` and leaves only vmalloc and vmfree undefined; it also
#     compiles with -nostdinc (the compiler's own freestanding headers only).
#  3. text+data+bss of the core objects summed, and of the M5 object, are at
#     most 1 MiB each (the figures are printed).
#  4. The M5 header works in a user program: tests/m5_spinlock.c uses
#     spinlock_t/spin_lock/spin_unlock/LOCKED/UNLOCKED and the allocator.
#
# Environment: BUILD, CC, CORE_OBJS, MODULE_OBJS, M5_C, M5_H (defaults for a
# plain build).
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
CC=${CC:-gcc}
CORE_OBJS=${CORE_OBJS:-$(ls "$BUILD"/core/*.o "$BUILD"/platform/prim.o 2>/dev/null)}
MODULE_OBJS=${MODULE_OBJS:-}
M5_C=${M5_C:-$BUILD/m5/mymalloc.c}
M5_H=${M5_H:-$BUILD/m5/mymalloc.h}
LIMIT=$((1024 * 1024))

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Prints the symbols the given objects leave undefined after linking them
# together (undefined in one and defined in none), one per line.
unresolved() {
    local undef defined
    undef=$(nm -u "$@" | awk '$1 == "U" || $1 == "w" || $1 == "v" { print $2 }' | sort -u)
    defined=$(nm --defined-only -g "$@" | awk 'NF == 3 { print $3 }' | sort -u)
    comm -23 <(echo "$undef") <(echo "$defined") | sed '/^$/d'
}

# Sum of the "dec" (text+data+bss) column of `size`.
total_size() {
    size "$@" | awk 'NR > 1 { s += $4 } END { print s + 0 }'
}

# --- 1. library core objects ---------------------------------------------
if [ -z "$CORE_OBJS" ]; then
    fail "no core objects (CORE_OBJS is empty)"
else
    extra=$(unresolved $CORE_OBJS | grep -vxE 'vmalloc|vmfree|_GLOBAL_OFFSET_TABLE_')
    echo "core objects: $(echo $CORE_OBJS | wc -w); undefined: $(unresolved $CORE_OBJS | tr '\n' ' ')"
    [ -z "$extra" ] || fail "core objects need symbols other than vmalloc/vmfree: $(echo $extra)"
    core_size=$(total_size $CORE_OBJS)
    echo "core text+data+bss: $core_size bytes"
    [ "$core_size" -le "$LIMIT" ] || fail "core is $core_size bytes, over 1 MiB"
fi

# --- 1b. the modules (src/MODULE/), with the core ----------------------------
# They reach the system only through the platform: linked with the core
# objects they leave nothing undefined but vmalloc and vmfree either.
if [ -n "$MODULE_OBJS" ]; then
    extra=$(unresolved $CORE_OBJS $MODULE_OBJS | grep -vxE 'vmalloc|vmfree|_GLOBAL_OFFSET_TABLE_')
    echo "module objects: $(echo $MODULE_OBJS | wc -w); undefined with the core: $(unresolved $CORE_OBJS $MODULE_OBJS | tr '\n' ' ')"
    [ -z "$extra" ] || fail "module objects need symbols beyond the core and vmalloc/vmfree: $(echo $extra)"
fi

# --- 2. the M5 amalgamation on its own ---------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f "$M5_C" ] || [ ! -f "$M5_H" ]; then
    fail "M5 files missing: $M5_C $M5_H"
else
    cp "$M5_C" "$tmp/mymalloc.c"
    cp "$M5_H" "$tmp/mymalloc.h"
    if ! (cd "$tmp" && gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib \
            -c mymalloc.c -o mymalloc.o) >"$tmp/cc.log" 2>&1; then
        fail "the M5 amalgamation does not compile on its own:"
        sed 's/^/    /' "$tmp/cc.log" | head -20
    else
        [ -s "$tmp/cc.log" ] && { echo "compiler said:"; sed 's/^/    /' "$tmp/cc.log" | head -20; }
        undef=$(unresolved "$tmp/mymalloc.o")
        echo "m5 object undefined: $(echo $undef)"
        extra=$(echo "$undef" | grep -vxE 'vmalloc|vmfree')
        [ -z "$extra" ] || fail "the M5 object needs symbols other than vmalloc/vmfree: $(echo $extra)"
        m5_size=$(total_size "$tmp/mymalloc.o")
        echo "m5 text+data+bss: $m5_size bytes"
        [ "$m5_size" -le "$LIMIT" ] || fail "the M5 object is $m5_size bytes, over 1 MiB"

        gcc_inc=$(gcc -print-file-name=include)
        if ! (cd "$tmp" && gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib \
                -nostdinc -isystem "$gcc_inc" -c mymalloc.c -o nostdinc.o) >"$tmp/cc2.log" 2>&1; then
            fail "the M5 amalgamation needs headers beyond the compiler's freestanding ones:"
            sed 's/^/    /' "$tmp/cc2.log" | head -10
        fi

        # --- 4. the header in a user program --------------------------
        if ! $CC -std=gnu11 -O2 -Wall -Wextra -pthread -I"$tmp" "$here/m5_spinlock.c" \
                "$tmp/mymalloc.o" -o "$tmp/m5_spinlock" >"$tmp/cc3.log" 2>&1; then
            fail "tests/m5_spinlock.c does not build against the M5 header:"
            sed 's/^/    /' "$tmp/cc3.log" | head -20
        elif ! "$tmp/m5_spinlock"; then
            fail "the M5 spin lock program failed"
        fi
    fi
fi

echo "FIGURES: core_size=${core_size:-?}B m5_size=${m5_size:-?}B"
if [ "$failures" -eq 0 ]; then
    echo "RESULT: check_freestanding passed"
    exit 0
fi
echo "RESULT: check_freestanding FAILED ($failures)"
exit 1
