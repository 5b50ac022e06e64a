#!/bin/sh
# no_valgrind_headers.sh [CC]: the library builds, by the Makefile's own
# rules and flags with warnings as errors, on a system without
# <valgrind/memcheck.h>, where platform/track.h compiles the memcheck
# annotations to nothing (docs/BUILD.md). The compiler's system include
# directories are shadowed by directories of links to each of their entries
# but valgrind/, searched in the same order. A few seconds.
# shellcheck disable=SC2086 # the include list is meant to split
set -eu
cc=${1:-${CC:-gcc}}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

dirs=$(echo | $cc -xc -E -v - 2>&1 |
    sed -n '/#include <...> search starts here:/,/End of search list\./p' | sed -n 's/^ //p')
[ -n "$dirs" ] || { echo "no system include directories found for $cc"; exit 1; }
shadows=""
n=0
for d in $dirs; do
    n=$((n + 1))
    mkdir "$tmp/$n"
    for entry in "$d"/*; do
        [ "${entry##*/}" = valgrind ] || ln -s "$entry" "$tmp/$n/"
    done
    shadows="$shadows -isystem $tmp/$n"
done
if printf '#include <valgrind/memcheck.h>\n' | $cc -nostdinc $shadows -xc -E - >/dev/null 2>&1; then
    echo "valgrind/memcheck.h is still found"
    exit 1
fi

# A make of its own (not the caller's jobs), into a build directory of its own.
MAKEFLAGS='' make -s -j2 BUILD="$tmp/build" CC="$cc -Werror -nostdinc$shadows" \
    "$tmp/build/libmymalloc.a"
echo "FIGURES: $(ar t "$tmp/build/libmymalloc.a" | wc -l) objects of libmymalloc.a built with -Werror without valgrind's headers ($cc)"
