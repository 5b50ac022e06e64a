#!/bin/bash
# peers.sh: the peers `make bench` compares mymalloc with, installed before
# it builds and runs anything (bench/bench.mk). A peer is missing when the
# file or pkg-config module that bench/run.sh and bench/pool/run.sh look
# for is absent. Missing peers are installed with apt-get (update, then
# install) when this runs as root on a system with apt-get; otherwise, or
# when that fails, it prints the exact command to run and the benchmark
# goes on without them (their columns are skipped). Exits 0 either way.
#
#   bench/peers.sh             install what is missing (as root), or say how
#   bench/peers.sh --dry-run   only say what it would run
#
# Environment: BUILD (build): after installing APR or talloc it removes
# $BUILD/bench/pool/request-peers, built without them, so that bench-build
# builds it again; PEERS=no: never install (as --dry-run);
# BENCH_PEERS_MISSING="PACKAGE ...": take these packages as missing (to
# test this script).
set -u
BUILD=${BUILD:-build}
dry_run=0
[ "${1:-}" = --dry-run ] && dry_run=1
case "${PEERS:-yes}" in no | 0 | off | false) dry_run=1 ;; esac
LIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# package, then how to tell it is there: a library file, or pkg-config:MODULE
peers="libjemalloc2 $LIBDIR/libjemalloc.so.2
libtcmalloc-minimal4 $LIBDIR/libtcmalloc_minimal.so.4
libmimalloc2.0 $LIBDIR/libmimalloc.so.2
libtbbmalloc2 $LIBDIR/libtbbmalloc_proxy.so.2
libapr1-dev pkg-config:apr-1
libtalloc-dev pkg-config:talloc"

missing=()
while read -r package probe; do
    case " ${BENCH_PEERS_MISSING:-} " in *" $package "*) missing+=("$package"); continue ;; esac
    case $probe in
    pkg-config:*) pkg-config --exists "${probe#pkg-config:}" 2>/dev/null || missing+=("$package") ;;
    *) [ -e "$probe" ] || missing+=("$package") ;;
    esac
done <<<"$peers"
[ "${#missing[@]}" -eq 0 ] && exit 0

install="apt-get install -y ${missing[*]}"
echo "peers.sh: peers not installed: ${missing[*]}"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "peers.sh: no apt-get here: install these Debian packages' equivalents to include them"
    elif command -v sudo >/dev/null 2>&1; then
        echo "peers.sh: to include them, run: sudo apt-get update && sudo $install"
    else
        echo "peers.sh: to include them, run as root: apt-get update && $install"
    fi
    exit 0
fi
if [ "$dry_run" = 1 ]; then
    echo "peers.sh: would run: apt-get update && $install"
    exit 0
fi
echo "peers.sh: installing them: apt-get update && $install"
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; }; then
    echo "peers.sh: the installation failed; the benchmark goes on without them. To retry: apt-get update && $install"
    exit 0
fi
case " ${missing[*]} " in
*" libapr1-dev "* | *" libtalloc-dev "*) rm -f "$BUILD/bench/pool/request-peers" ;;
esac
