#!/usr/bin/env bash
# instr.sh PROGRAM [RANDOM_PROGRAM]: the instruction bound of the real-time
# heap's calls. Runs PROGRAM --case=calls (tests/rt/rt_test.c: every path of
# rt_malloc, rt_free and rt_aligned_alloc, adversarially) and, if given,
# RANDOM_PROGRAM --case=random-long (random sizes, alignments, reallocs and
# frees: breadth) under callgrind, which zeroes its counters when one of the
# three functions is entered and dumps them when it returns: one dump per
# call, holding that call's instructions. Fails unless every call of each
# function executed at most LIMIT (default 150) instructions, and unless
# each function was measured.
set -u
program=$1
random_program=${2:-}
limit=${LIMIT:-150}
functions="rt_malloc rt_free rt_aligned_alloc"
if ! command -v valgrind >/dev/null; then
    echo "instr.sh: valgrind is not installed (apt-get install valgrind)"
    exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
options=()
for f in $functions; do
    options+=("--zero-before=$f" "--dump-after=$f")
done
# run NAME PROGRAM ARGS...: the dumps go to $out/NAME/cg.*
run() {
    local name=$1
    shift
    mkdir -p "$out/$name"
    valgrind --tool=callgrind --callgrind-out-file="$out/$name/cg" "${options[@]}" "$@" \
        >"$out/$name/log" 2>&1 || {
        tail -20 "$out/$name/log"
        echo "instr.sh: $* failed under callgrind"
        exit 1
    }
}
run calls "$program" --case=calls
[ -n "$random_program" ] && run random "$random_program" --case=random-long --ops=5000
# Each dump: "desc: Trigger: --dump-after=FUNCTION", then cost lines under
# "fn=" records. A call's count is the self cost of FUNCTION in its dump
# (the heap's helpers are all inlined into it: the drop-in's object has no
# other local function on these paths). Other costs in a dump are left out:
# the caller's basic block that ends in the call instruction is charged to
# it (a few of the test's instructions), and so, now and then, is what ran
# between the previous dump and this call. Names are compressed ("fn=(id)
# name" once, then "fn=(id)"), so the dumps are read in order.
for dir in "$out"/calls "$out"/random; do
    [ -d "$dir" ] || continue
    ls "$dir"/cg.* | sort -t. -k2 -n | xargs awk '
    FNR == 1 { if (fn_trigger != "") print fn_trigger, cost; fn_trigger = ""; cost = 0; current = "" }
    /^desc: Trigger: --dump-after=/ { fn_trigger = $0; sub(/.*=/, "", fn_trigger) }
    /^c?fn=\(/ {
        id = $0; sub(/^c?fn=/, "", id); name = id; sub(/\).*/, ")", id); sub(/^\([0-9]+\) ?/, "", name)
        if (name != "") names[id] = name
        if ($0 ~ /^fn=/) current = names[id]
        next
    }
    /^calls=/ { skip = 1; next }
    /^[0-9+-]/ { if (skip) { skip = 0; next } if (current == fn_trigger) cost += $2 }
    END { if (fn_trigger != "") print fn_trigger, cost }'
done >"$out/counts"
status=0
figures=
for f in $functions; do
    read -r count max mean < <(awk -v f="$f" '$1 == f { n++; s += $2; if ($2 > m) m = $2 }
        END { printf "%d %d %.1f\n", n, m, n ? s / n : 0 }' "$out/counts")
    echo "$f: $count calls, max $max instructions, mean $mean"
    figures="$figures $f max=$max mean=$mean n=$count"
    if [ "$count" -lt 100 ]; then
        echo "FAIL: only $count calls of $f measured"
        status=1
    elif [ "$max" -gt "$limit" ]; then
        echo "FAIL: a call of $f took $max instructions (limit $limit)"
        status=1
    fi
done
echo "FIGURES:$figures (limit $limit)"
exit $status
