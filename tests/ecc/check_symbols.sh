#!/usr/bin/env bash
# tests/ecc/check_symbols.sh: the protected-memory module is freestanding:
# its objects ($BUILD/ecc/*.o) leave nothing undefined but the platform's
# primitives (mm_prim_*, vmalloc, vmfree) and _GLOBAL_OFFSET_TABLE_ (the
# linker's own): no libc, no memcpy or memset emitted by the compiler.
set -u
BUILD=${BUILD:-build}
objs=$(ls "$BUILD"/ecc/*.o 2>/dev/null)
[ -n "$objs" ] || { echo "FAIL: no objects in $BUILD/ecc"; exit 1; }
undef=$(nm -u $objs | awk '$1 == "U" || $1 == "w" { print $2 }' | sort -u)
defined=$(nm --defined-only -g $objs | awk 'NF == 3 { print $3 }' | sort -u)
extra=$(comm -23 <(echo "$undef") <(echo "$defined") |
    grep -vxE 'mm_prim_[a-z_]+|vmalloc|vmfree|_GLOBAL_OFFSET_TABLE_|')
echo "undefined: $(comm -23 <(echo "$undef") <(echo "$defined") | tr '\n' ' ')"
echo "FIGURES: ecc_size=$(size $objs | awk 'NR > 1 { s += $4 } END { print s }')B"
[ -z "$extra" ] || { echo "FAIL: the module needs $extra"; exit 1; }
