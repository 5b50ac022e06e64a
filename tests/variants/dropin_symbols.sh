#!/bin/sh
# dropin_symbols.sh OBJECT ALLOWED: a drop-in variant's object references
# no symbol but the ALLOWED ones (a grep -xE pattern; the linker's own
# _GLOBAL_OFFSET_TABLE_ always allowed): a macro must not pull in libc or
# the compiler's runtime (abort, memcpy, __stack_chk_fail, ...).
set -u
extra=$(nm -u "$1" | awk '{ print $2 }' | grep -vxE "$2|_GLOBAL_OFFSET_TABLE_")
if [ -n "$extra" ]; then
    echo "$1 references symbols it must not:" $extra
    exit 1
fi
echo "$1: undefined symbols:" $(nm -u "$1" | awk '{ print $2 }')
