# lib.sh: shared pieces of the real-program tests (tests/programs/*.sh) and
# of their measurement (bench/programs.sh). Sourced by bash scripts.
#
# Defines
#   where things are: PROG_ROOT (the repository, absolute), PROG_DIR (this
#     directory), PROG_BIN ($BUILD/tests/programs: measure, cxx_churn),
#     MYMALLOC_SO (the library under test; override with the environment
#     variable of that name), the real programs' absolute paths
#   prog_need PATH PACKAGE      fails (with what to apt-get install) if a
#                               program or file is missing
#   alloc_path NAME             the LD_PRELOAD value of an allocator
#   the workloads, one function each, all called as
#       wl_NAME DIR SIZE PRELOAD
#     run the program at workload size SIZE with LD_PRELOAD=PRELOAD (empty:
#     the system allocator) and leave in DIR
#       stdout, stderr   what the program printed (compared between runs)
#       measure          "seconds=X peak_rss_kib=Y status=Z" (tools/measure)
#     and return the program's status. Their outputs are deterministic: the
#     same SIZE gives the same stdout on any correct allocator.
#   stats_lines FILE            the mymalloc stats lines in FILE
#   stats_sum FILE FIELD        FIELD summed over those lines
#   same_output DIR_A DIR_B     compares two runs' stdout and stderr (stderr
#                               without the lines mymalloc prints)

PROG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG_ROOT=$(cd "$PROG_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) PROG_BUILD=$BUILD ;;
*) PROG_BUILD=$PROG_ROOT/$BUILD ;;
esac
PROG_BIN=$PROG_BUILD/tests/programs
MEASURE=$PROG_BIN/measure
MYMALLOC_SO=${MYMALLOC_SO:-$PROG_BUILD/libmymalloc.so}

# Debian's programs by absolute path: a python3 earlier on PATH (pyenv, a
# virtualenv) would be another build with other libraries.
PYTHON=/usr/bin/python3
SQLITE=/usr/bin/sqlite3
GCC=/usr/bin/gcc
REDIS_SERVER=/usr/bin/redis-server
REDIS_CLI=/usr/bin/redis-cli
REDIS_BENCHMARK=/usr/bin/redis-benchmark

LIBDIR=/usr/lib/x86_64-linux-gnu
GLIBC_SO=/lib/x86_64-linux-gnu/libc.so.6

# prog_need PATH PACKAGE: true if PATH exists, else says what to install.
prog_need() {
    [ -e "$1" ] && return 0
    echo "FAIL: $1 is missing: apt-get install $2 (tests/programs/packages.txt lists every package these tests need)"
    return 1
}

# alloc_path NAME: the LD_PRELOAD value that makes a program use allocator
# NAME (empty for glibc). Peers are Debian's packages:
#   jemalloc libjemalloc2, tcmalloc libtcmalloc-minimal4, mimalloc
#   libmimalloc2.0, tbbmalloc libtbbmalloc2.
alloc_path() {
    case $1 in
    glibc) echo "" ;;
    mymalloc) echo "$MYMALLOC_SO" ;;
    jemalloc) echo "$LIBDIR/libjemalloc.so.2" ;;
    tcmalloc) echo "$LIBDIR/libtcmalloc_minimal.so.4" ;;
    mimalloc) echo "$LIBDIR/libmimalloc.so.2" ;;
    tbbmalloc) echo "$LIBDIR/libtbbmalloc_proxy.so.2" ;;
    *) echo "alloc_path: unknown allocator $1" >&2; return 1 ;;
    esac
}

# The Debian package of each peer allocator, for the "install it" message.
alloc_package() {
    case $1 in
    jemalloc) echo libjemalloc2 ;;
    tcmalloc) echo libtcmalloc-minimal4 ;;
    mimalloc) echo libmimalloc2.0 ;;
    tbbmalloc) echo libtbbmalloc2 ;;
    esac
}

# wl_exec DIR PRELOAD COMMAND...: runs COMMAND under tools/measure with
# LD_PRELOAD=PRELOAD (unset when empty), stdout and stderr to DIR. Standard
# input passes through. Returns the command's status.
wl_exec() {
    local dir=$1 preload=$2
    shift 2
    rm -f "$dir/measure"
    if [ -n "$preload" ]; then
        "$MEASURE" -o "$dir/measure" env LD_PRELOAD="$preload" "$@" >"$dir/stdout" 2>"$dir/stderr"
    else
        "$MEASURE" -o "$dir/measure" env -u LD_PRELOAD "$@" >"$dir/stdout" 2>"$dir/stderr"
    fi
}

# --- the workloads ---------------------------------------------------------

# python3 running alloc_heavy.py with SIZE objects per phase. PYTHONMALLOC=
# malloc sends every allocation to malloc (pymalloc would otherwise serve
# objects up to 512 bytes from its own arenas); PYTHONHASHSEED=0 keeps
# anything hash-ordered the same from run to run.
wl_python() {
    local dir=$1 size=$2 preload=$3
    PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH='' \
        wl_exec "$dir" "$preload" "$PYTHON" -s "$PROG_DIR/alloc_heavy.py" "$size"
}

# The sqlite3 shell on an in-memory database, fed the SQL that
# sqlite_gen.sh writes for SIZE rows (bulk inserts from recursive CTEs,
# indexes, single-row inserts and point queries, joins, aggregates, sorts).
wl_sqlite() {
    local dir=$1 size=$2 preload=$3
    sh "$PROG_DIR/sqlite_gen.sh" "$size" >"$dir/workload.sql" || return 1
    wl_exec "$dir" "$preload" "$SQLITE" -batch :memory: <"$dir/workload.sql"
}

# gcc -O2 compiling and linking the multi-file C program that gen_c.sh
# writes (SIZE functions in each of 6 files), then the program run on the
# system allocator: stdout is the compiler's output (normally nothing), a
# line naming the executable's hash and the program's own output. The
# measure line is the compilation's.
wl_gcc() {
    local dir=$1 size=$2 preload=$3
    rm -rf "$dir/src" && mkdir -p "$dir/src" || return 1
    sh "$PROG_DIR/gen_c.sh" "$dir/src" 6 "$size" || return 1
    (cd "$dir/src" && wl_exec .. "$preload" "$GCC" -O2 -o ../prog ./*.c)
    local rc=$?
    mv "$dir/stdout" "$dir/compile.out"
    {
        cat "$dir/compile.out"
        [ "$rc" -eq 0 ] && echo "executable $(cksum <"$dir/prog")" && "$dir/prog"
    } >"$dir/stdout"
    return "$rc"
}

# cxx_churn (tests/programs/cxx_churn.cc): 4 threads, SIZE rounds.
wl_cxx() {
    local dir=$1 size=$2 preload=$3
    wl_exec "$dir" "$preload" "$PROG_BIN/cxx_churn" 4 "$size"
}

# redis-server on 127.0.0.1 at a free port, no persistence. The clients
# (redis-cli, redis-benchmark) run on the system allocator:
#   1. redis-cli --pipe loads SIZE strings, lists, hashes, sets and sorted
#      sets (redis_gen.sh);
#   2. redis-benchmark -n SIZE -t set,get,lpush,lpop,incr,hset (with
#      REDIS_PIPELINE requests per round trip, default 1), no random keys,
#      so its keys end the same on every run;
#   3. DBSIZE, DEBUG DIGEST (a hash of the whole data set) and a few values
#      go to stdout;
#   4. SHUTDOWN NOSAVE; the server must be gone within 15 s.
# stderr is the server's; measure has the clients' wall seconds and the
# server's peak RSS and status. Debian's redis-server is linked with
# jemalloc, so the system allocator run preloads glibc's libc.so.6: its
# malloc then comes first (checked: jemalloc's own statistics stay idle).
# A preloaded allocator must export malloc_usable_size (redis calls it on
# every block) and gets redis's nallocx/mallctl calls answered by jemalloc.
wl_redis() {
    local dir=$1 size=$2 preload=${3:-$GLIBC_SO}
    local port pid start end limit key rc=0
    local cli=("$REDIS_CLI" -h 127.0.0.1)
    rm -f "$dir/measure" "$dir/server.measure" "$dir/redis.pid"
    sh "$PROG_DIR/redis_gen.sh" "$size" >"$dir/load.resp" || return 1

    # Start the server at a random port; try another if that one is taken.
    for _ in 1 2 3 4 5 6 7 8; do # ports tried
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue # something listens there
        fi
        "$MEASURE" -o "$dir/server.measure" env LD_PRELOAD="$preload" \
            "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --daemonize no --pidfile "$dir/redis.pid" --enable-debug-command yes \
            >"$dir/server.log" 2>"$dir/stderr" </dev/null &
        pid=$!
        for _ in $(seq 100); do
            [ "$("${cli[@]}" -p "$port" ping 2>/dev/null)" = PONG ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null && [ "$("${cli[@]}" -p "$port" ping 2>/dev/null)" = PONG ]; then
            break
        fi
        wait "$pid"
        if grep -q "already in use" "$dir/server.log" "$dir/stderr"; then
            pid=
            continue
        fi
        echo "redis-server did not start:" >&2
        tail -n 20 "$dir/server.log" "$dir/stderr" >&2
        return 1
    done
    if [ -z "$pid" ]; then
        echo "redis-server: found no free port" >&2
        return 1
    fi

    # Bounded: a client whose server died may wait for it for ever.
    limit=$((60 + size / 500))
    start=$(date +%s.%N)
    timeout "$limit" "${cli[@]}" -p "$port" --pipe <"$dir/load.resp" >"$dir/load.out" 2>&1 || rc=1
    timeout "$limit" "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$port" -n "$size" -P "${REDIS_PIPELINE:-1}" \
        -q -t set,get,lpush,lpop,incr,hset >"$dir/benchmark.out" 2>&1 || rc=1
    end=$(date +%s.%N)
    {
        echo "dbsize $("${cli[@]}" -p "$port" dbsize)"
        echo "digest $("${cli[@]}" -p "$port" debug digest)"
        for key in str:1 str:$((size / 2)) str:$((size - 1)) 'counter:__rand_int__'; do
            echo "get $key $("${cli[@]}" -p "$port" get "$key" | cksum)"
        done
        echo "llen list:7 $("${cli[@]}" -p "$port" llen list:7)"
        echo "hlen hash:7 $("${cli[@]}" -p "$port" hlen hash:7)"
        echo "zscore zset:7 m7 $("${cli[@]}" -p "$port" zscore zset:7 m7)"
    } >"$dir/stdout" 2>&1
    "${cli[@]}" -p "$port" shutdown nosave >/dev/null 2>&1
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "redis-server still running 15 s after SHUTDOWN NOSAVE: killed" >&2
        [ -s "$dir/redis.pid" ] && kill -9 "$(cat "$dir/redis.pid")" 2>/dev/null
        rc=1
    fi
    wait "$pid" || rc=1
    # One line like the other workloads': the clients' wall time, the server's
    # peak RSS and exit status.
    awk -v a="$start" -v b="$end" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "seconds=%.3f peak_rss_kib=%s status=%s\n", b - a, v["peak_rss_kib"], v["status"]
    }' "$dir/server.measure" >"$dir/measure"
    return "$rc"
}

# --- checks ------------------------------------------------------------------

# stats_lines FILE: mymalloc's machine-readable stats lines in FILE.
stats_lines() { grep -a '^mymalloc: stats: ' "$1"; }

# stats_sum FILE FIELD: FIELD (e.g. mallocs) summed over the stats lines.
stats_sum() {
    stats_lines "$1" | awk -v f="$2" '{
        for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) s += kv[2] }
    } END { printf "%d\n", s }'
}

# stats_max FILE FIELD: the largest FIELD of one stats line.
stats_max() {
    stats_lines "$1" | awk -v f="$2" '{
        for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f && kv[2] > m) m = kv[2] }
    } END { printf "%d\n", m }'
}

# measured DIR FIELD: a field of DIR/measure (seconds, peak_rss_kib, status).
measured() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1/measure"; }

# without_mymalloc FILE: FILE less what mymalloc printed (every line of it
# starts with "mymalloc").
without_mymalloc() { grep -av '^mymalloc' "$1" || true; }

# same_output DIR_A DIR_B: true if both runs printed the same (stderr
# compared without what mymalloc printed); else shows the first
# differences.
same_output() {
    local a=$1 b=$2 ok=0 f
    for f in stdout stderr; do
        without_mymalloc "$a/$f" >"$a/$f.cmp"
        without_mymalloc "$b/$f" >"$b/$f.cmp"
        if ! cmp -s "$a/$f.cmp" "$b/$f.cmp"; then
            echo "FAIL: $f differs between $a and $b:"
            diff "$a/$f.cmp" "$b/$f.cmp" | head -n 20
            ok=1
        fi
    done
    return $ok
}
