#!/bin/sh
# bench_peers.sh: what `make bench` does about a missing peer
# (bench/peers.sh), without installing anything: peers are made missing
# with BENCH_PEERS_MISSING, and apt-get is a stub early in PATH that logs
# its arguments. Checks, for a missing malloc peer and a missing pool peer:
#   as root        apt-get update, then apt-get install -y with exactly the
#                  missing packages; the pool program built without the
#                  pool peer is removed (to be built again with it)
#   as root, --dry-run or PEERS=no
#                  the command it would run, and no apt-get call
#   as root, apt-get failing
#                  the command to retry, exit 0 (the benchmark goes on)
#   not root       the exact sudo command, no apt-get call, exit 0
# The root cases need root (tests/run.sh under .ci/run is); the last runs as
# nobody then. Run from the top of the tree.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/bin" "$tmp/build/bench/pool"
cat >"$tmp/bin/apt-get" <<STUB
#!/bin/sh
echo "apt-get \$*" >>"$tmp/apt.log"
[ -z "\${APT_FAIL:-}" ]
STUB
chmod 755 "$tmp/bin/apt-get"
export PATH="$tmp/bin:$PATH" BENCH_PEERS_MISSING="libjemalloc2 libapr1-dev" BUILD="$tmp/build"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# The faked packages, and any that are really missing here, in peers.sh's order.
expect_install() { grep -q "apt-get install -y.*libjemalloc2.*libapr1-dev" "$1"; }

if [ "$(id -u)" = 0 ]; then
    : >"$tmp/apt.log"
    touch "$tmp/build/bench/pool/request-peers"
    bash bench/peers.sh >"$tmp/out" 2>&1 || fail "install: exit status $?"
    cat "$tmp/out"
    head -1 "$tmp/apt.log" | grep -qx "apt-get update -qq" || fail "install: apt-get update did not come first"
    sed -n 2p "$tmp/apt.log" | grep -q "^apt-get install -y -qq .*libjemalloc2.*libapr1-dev" ||
        fail "install: no apt-get install of the missing packages: $(cat "$tmp/apt.log")"
    [ ! -e "$tmp/build/bench/pool/request-peers" ] || fail "install: the pool program built without APR was kept"

    for how in --dry-run PEERS=no; do
        : >"$tmp/apt.log"
        if [ "$how" = --dry-run ]; then bash bench/peers.sh --dry-run >"$tmp/out" 2>&1
        else PEERS=no bash bench/peers.sh >"$tmp/out" 2>&1; fi
        cat "$tmp/out"
        grep -q "would run: apt-get update && " "$tmp/out" && expect_install "$tmp/out" ||
            fail "$how: the command it would run is not said"
        [ ! -s "$tmp/apt.log" ] || fail "$how: apt-get was called: $(cat "$tmp/apt.log")"
    done

    : >"$tmp/apt.log"
    APT_FAIL=1 bash bench/peers.sh >"$tmp/out" 2>&1 || fail "apt-get failing: exit status $?"
    cat "$tmp/out"
    grep -q "installation failed.*To retry: apt-get update && " "$tmp/out" && expect_install "$tmp/out" ||
        fail "apt-get failing: the command to retry is not said"
fi

# Not root: as another user when this runs as root, else as it runs; from a
# copy of the script in $tmp, since that user may not read the tree (a
# clone in a private directory).
: >"$tmp/apt.log"
cp bench/peers.sh "$tmp/peers.sh"
as_user=
[ "$(id -u)" = 0 ] && as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
(cd "$tmp" && $as_user env PATH="$PATH" BENCH_PEERS_MISSING="$BENCH_PEERS_MISSING" BUILD="$BUILD" \
    bash "$tmp/peers.sh") >"$tmp/out" 2>&1 || fail "not root: exit status $?"
cat "$tmp/out"
if command -v sudo >/dev/null 2>&1; then
    grep -q "run: sudo apt-get update && sudo apt-get install -y " "$tmp/out" && expect_install "$tmp/out" ||
        fail "not root: the sudo command is not said"
else
    grep -q "run as root: apt-get update && apt-get install -y " "$tmp/out" && expect_install "$tmp/out" ||
        fail "not root: the command to run as root is not said"
fi
[ ! -s "$tmp/apt.log" ] || fail "not root: apt-get was called: $(cat "$tmp/apt.log")"
if [ "$(id -u)" = 0 ]; then cases="root installs, dry run, apt-get failure, non-root"; else cases="non-root only (not run as root)"; fi
[ "$failures" = 0 ] && echo "FIGURES: $cases: as documented"
exit "$failures"
