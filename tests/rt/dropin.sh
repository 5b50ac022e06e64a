#!/usr/bin/env bash
# dropin.sh RT_C RT_H: the real-time drop-in, copied alone into a temporary
# directory, compiles with exactly
#   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c mymalloc_rt.c
# (and with -DMM_DEBUG, and with -nostdinc: the compiler's own headers only)
# and leaves no symbol undefined; it exports the calls of mymalloc/rt.h.
set -u
c=$1
h=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$c" "$h" "$dir"/
cd "$dir" || exit 1
status=0
for extra in "" "-DMM_DEBUG" "-nostdinc -isystem $(gcc -print-file-name=include)"; do
    # shellcheck disable=SC2086
    if ! gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib $extra -c mymalloc_rt.c \
        -o rt.o; then
        echo "FAIL: does not compile with '$extra'"
        status=1
        continue
    fi
    undefined=$(nm -u rt.o | awk '{ print $2 }')
    if [ -n "$undefined" ]; then
        echo "FAIL: with '$extra' it references" $undefined
        status=1
    fi
done
for f in rt_heap_init rt_malloc rt_free rt_realloc rt_aligned_alloc rt_usable_size \
    rt_heap_required rt_heap_check rt_heap_stats rt_set_error_handler; do
    nm --defined-only -g rt.o | grep -qw "$f" || { echo "FAIL: $f not exported"; status=1; }
done
size=$(size rt.o | awk 'NR == 2 { print $1 + $2 + $3 }')
echo "FIGURES: text+data+bss=${size} B, undefined symbols=0"
exit $status
