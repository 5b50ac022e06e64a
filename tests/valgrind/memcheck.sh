#!/bin/sh
# tests/valgrind/memcheck.sh 'PROGRAM ARGS' ...: runs each command (one
# argument each, split at spaces) under valgrind's memcheck with mymalloc's
# own malloc family rather than memcheck's replacement (docs/DEBUGGING.md),
# a full leak check, and counts it failed if memcheck reports an error or a
# leak or the program fails. One line per command, then "N passed, N
# failed"; exits 1 if one failed. `make valgrind` runs it; the logs go to
# $VG_LOGS (default /tmp).
if ! command -v valgrind >/dev/null 2>&1; then
    echo "memcheck.sh: valgrind not found (Debian: apt-get install valgrind)"
    exit 1
fi
logs=${VG_LOGS:-/tmp}
mkdir -p "$logs"
passed=0
failed=0
for command in "$@"; do
    name=$(basename "${command%% *}")
    log=$logs/memcheck-$name.log
    start=$(date +%s)
    # shellcheck disable=SC2086 # the command's words
    if valgrind --soname-synonyms=somalloc=nouserintercepts --error-exitcode=99 \
        --leak-check=full $command >"$log" 2>&1; then
        passed=$((passed + 1))
        status=PASS
    else
        failed=$((failed + 1))
        status=FAIL
    fi
    printf '%-4s  %-15s %4ss  %s (%s)\n' "$status" "$name" "$(($(date +%s) - start))" \
        "$(sed -n 's/^==[0-9]*== \(ERROR SUMMARY: [0-9]* errors\).*/\1/p' "$log")" "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
