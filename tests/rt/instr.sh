#!/usr/bin/env bash
# instr.sh PROGRAM: the instruction bound of the real-time heap's calls.
# Runs PROGRAM --case=calls (tests/rt/rt_test.c: every path of rt_malloc,
# rt_free and rt_aligned_alloc, adversarially) under callgrind, which zeroes
# its counters when one of the three functions is entered and dumps them
# when it returns: one dump per call, holding exactly that call's
# instructions. Fails unless every call of each function executed at most
# LIMIT (default 150) instructions, and unless each function was measured.
set -u
program=$1
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
valgrind --tool=callgrind --callgrind-out-file="$out/cg" "${options[@]}" \
    "$program" --case=calls >"$out/log" 2>&1 || {
    tail -20 "$out/log"
    echo "instr.sh: $program --case=calls failed under callgrind"
    exit 1
}
# Each dump: "desc: Trigger: --dump-after=FUNCTION" and "summary: N".
awk '/^desc: Trigger: --dump-after=/ { sub(/.*=/, ""); fn = $0 }
     /^summary:/ { if (fn != "") print fn, $2; fn = "" }' "$out"/cg.* >"$out/calls"
status=0
figures=
for f in $functions; do
    read -r count max mean < <(awk -v f="$f" '$1 == f { n++; s += $2; if ($2 > m) m = $2 }
        END { printf "%d %d %.1f\n", n, m, n ? s / n : 0 }' "$out/calls")
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
