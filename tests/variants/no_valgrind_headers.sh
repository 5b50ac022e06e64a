#!/bin/sh
# no_valgrind_headers.sh [CC]: every source of the libraries compiles, with
# warnings as errors, on a system without <valgrind/memcheck.h>, where
# platform/track.h compiles the memcheck annotations to nothing (docs/BUILD.md).
# The compiler's system include directories are shadowed by directories of
# links to each of their entries but valgrind/, searched in the same order.
# Syntax only: a few seconds.
# shellcheck disable=SC2086 # the flag lists ($shadows, $flags, ...) are meant to split
set -eu
cc=${1:-${CC:-gcc}}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

dirs=$(echo | "$cc" -xc -E -v - 2>&1 |
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
if printf '#include <valgrind/memcheck.h>\n' | "$cc" -nostdinc $shadows -xc -E - >/dev/null 2>&1; then
    echo "valgrind/memcheck.h is still found"
    exit 1
fi

warnings="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"
core="-std=c11 -O2 -ffreestanding -fno-builtin -DMM_PLATFORM_HOSTED -Iinclude -Isrc"
hosted="-std=gnu11 -O2 -DMM_PLATFORM_HOSTED -Iinclude -Isrc"
files=0
for f in src/core/*.c src/platform/prim.c src/pool/*.c src/ecc/*.c src/rt/*.c \
    src/hosted/*.c src/platform/hosted.c; do
    case $f in
    src/hosted/* | src/platform/hosted.c) flags=$hosted ;;
    *) flags=$core ;;
    esac
    "$cc" -nostdinc $shadows $flags $warnings -fsyntax-only "$f"
    files=$((files + 1))
done
echo "FIGURES: $files sources compiled with -Werror without valgrind's headers ($cc)"
