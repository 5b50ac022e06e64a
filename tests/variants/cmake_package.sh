#!/bin/sh
# cmake_package.sh: the CMake package that `make install` installs
# (tools/cmake/; docs/BUILD.md). Installs into a temporary directory with
# DESTDIR and PREFIX, configures and builds tests/variants/cmake/ with
# CMAKE_PREFIX_PATH pointing there, and runs its three programs (linked
# with mymalloc::mymalloc, mymalloc::static and mymalloc::realtime), each
# of which checks that its malloc is mymalloc's; checks that the shared
# programs load the installed libraries; then which versions
# find_package(mymalloc VERSION) accepts. Run from the top of the tree,
# with BUILD set (tests/run.sh does).
set -eu
BUILD=${BUILD:-build}
command -v cmake >/dev/null || { echo "cmake is not installed (apt-get install cmake)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/mymalloc-test
root=$tmp/stage$prefix

# A make started by this script is not a sub-make of the one that may run it.
# Under make debug-test the tree installed is build-debug's, with its flags.
goals=install
[ "$BUILD" = build-debug ] && goals="debug install"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s $goals BUILD="$BUILD" DESTDIR="$tmp/stage" \
    PREFIX="$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
for f in lib/cmake/mymalloc/mymalloc-config.cmake lib/cmake/mymalloc/mymalloc-config-version.cmake; do
    [ -f "$root/$f" ] || { echo "make install did not install $f"; exit 1; }
done

cmake -S tests/variants/cmake -B "$tmp/project" -DCMAKE_PREFIX_PATH="$root" \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/project" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }

"$tmp/project/uses_shared"
"$tmp/project/uses_static"
MYMALLOC_RT_ARENA_MB=16 "$tmp/project/uses_realtime"
for p in shared:libmymalloc.so realtime:libmymalloc-rt.so; do
    program=${p%%:*} lib=${p#*:}
    loaded=$(ldd "$tmp/project/uses_$program" | awk -v l="$lib" '$1 == l { print $3 }')
    [ "$loaded" = "$root/lib/$lib" ] || { echo "uses_$program loads $lib from '$loaded', not $root/lib"; exit 1; }
done
if nm -D "$tmp/project/uses_static" 2>/dev/null | grep -q ' U mymalloc$'; then
    echo "uses_static takes mymalloc from a shared library"; exit 1
fi

# The version installed, and requests around it: before 1.0 the minor
# version must match as well as the major.
version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$root/lib/cmake/mymalloc/mymalloc-config-version.cmake")
major=${version%%.*} minor=${version#*.} minor=${minor%%.*}
older=FALSE
[ "$major" = 0 ] || older=TRUE
requests="$version:TRUE $version.0:TRUE $major.$((minor + 1)):FALSE $((major + 1)).0:FALSE
$major.$minor...$((major + 1)).0:TRUE $major.$((minor + 1))...$((major + 1)).0:FALSE"
[ "$minor" -gt 0 ] && requests="$requests $major.$((minor - 1)):$older"
wants=$(for request in $requests; do printf '%s;' "${request%%:*}"; done)
cmake -S tests/variants/cmake/version -B "$tmp/version" -DCMAKE_PREFIX_PATH="$root" -DWANTS="$wants" \
    >"$tmp/version.log" 2>&1 || { cat "$tmp/version.log"; exit 1; }
for request in $requests; do
    want=${request%%:*} expected=${request#*:}
    found=$(sed -n "s/^-- mymalloc $want: found=//p" "$tmp/version.log")
    case $found in 1 | TRUE | ON) found=TRUE ;; 0 | FALSE | OFF) found=FALSE ;; esac
    [ "$found" = "$expected" ] ||
        { echo "find_package(mymalloc $want) with $version installed: found '$found', expected $expected"; exit 1; }
done
echo "FIGURES: find_package(mymalloc $version) from a DESTDIR install: shared, static and realtime targets ok, $(echo $requests | wc -w) version requests answered right"
