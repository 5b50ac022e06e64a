# tests/checker/register.sh: mymalloc-check (tools/mymalloc-check.in) on
# mymalloc's own M5 drop-in and on the planted-bug allocators of
# tests/checker/alloc/, sourced by tests/run.sh with $mode and $BUILD set.
# expect.sh asserts the verdicts: a correct allocator passes every rule
# run, a planted bug fails the rule named after it. Normal mode (about 40 s
# on 2 cores): every rule on the M5 drop-in, every correctness rule on the
# correct but slow allocator, each bug under its own rule. Soak mode: every
# rule on every allocator (list_walk and waste_64k alone take minutes, their
# correctness runs being far too slow or far too big).
CHECK=$BUILD/mymalloc-check
# The races (no lock, a lock of plain accesses) are caught by chance, less
# often when other work shares the two cores: up to 3 runs (expect.sh).
check_tries() { case $1 in no_lock | plain_lock) echo 3 ;; *) echo 1 ;; esac; }
# check_planted_bugs PREFIX CHECKER DIR "ALLOC:RULE ...": each planted-bug
# allocator DIR/ALLOC.c, run under its RULE alone (normal mode, races up to
# 3 times) or once under every rule (soak), must be caught by RULE
# (expect.sh).
check_planted_bugs() {
    local prefix=$1 checker=$2 dir=$3 bug name rule
    for bug in $4; do
        name=${bug%%:*} rule=${bug#*:}
        if [ "$mode" = normal ]; then
            run_test "checker/$prefix$name" 120 env EXPECT_TRIES="$(check_tries "$name")" \
                tests/checker/expect.sh "$checker" "$dir/$name.c" "$rule" "$rule"
        else
            run_test "checker/$prefix$name-all-rules" 600 \
                tests/checker/expect.sh "$checker" "$dir/$name.c" "$rule"
        fi
    done
}
CHECK_ALLOC=tests/checker/alloc
CHECK_CORRECTNESS=stress,alignment,remote-free,clone-threads,exhaustion,reuse,frugality
# allocator:the rule that must catch its bug
CHECK_BUGS="no_lock:stress plain_lock:stress off_by_8:stress lost_block:reuse waste_64k:frugality list_walk:throughput"
if [ "$mode" = normal ]; then
    run_test checker/m5-all-rules 120 tests/checker/expect.sh "$CHECK" "$BUILD/m5/mymalloc.c" pass
    run_test checker/correct_slow 120 tests/checker/expect.sh "$CHECK" "$CHECK_ALLOC/correct_slow.c" pass \
        "$CHECK_CORRECTNESS"
else
    run_test checker/correct_slow-all-rules 300 tests/checker/expect.sh "$CHECK" "$CHECK_ALLOC/correct_slow.c" pass
fi
check_planted_bugs "" "$CHECK" "$CHECK_ALLOC" "$CHECK_BUGS"

# kalloc-check (tools/kalloc-check.in) on mymalloc's own kalloc behind the
# pmm.c docs/KERNEL.md shows, pasted into one file (rules.mk; every rule
# must pass), and on the pmm allocators of tests/checker/kalloc/
# (pmm_base.h with one planted bug each), asserted the same way. Normal
# mode (25 to 40 s on 2 shared cores): every rule on mymalloc's kalloc, the
# correct but slow pmm on every rule but concurrency and throughput, each
# bug under its own rule. Soak mode: every rule on the correct pmm and on
# every bug (list_walk's fills time out: a walk per kfree over a full
# heap's slabs).
KCHECK=$BUILD/kalloc-check
KCHECK_ALLOC=tests/checker/kalloc
# The correct pmm in normal mode: the rules that do not take fixed seconds
# (concurrency and throughput run on mymalloc's kalloc, and in the soak).
KCHECK_SLOW_PMM_RULES=alignment,bounds,small,pages,mix,remote-free,exhaustion
KCHECK_BUGS="no_lock:concurrency plain_lock:concurrency off_by_8:small lost_block:exhaustion misaligned:alignment list_walk:throughput"
if [ "$mode" = normal ]; then
    run_test checker/kalloc-mymalloc-all-rules 120 tests/checker/expect.sh "$KCHECK" \
        "$BUILD/checker/kalloc-kit/mymalloc/pmm.c" pass
    run_test checker/kalloc-correct_slow 120 tests/checker/expect.sh "$KCHECK" "$KCHECK_ALLOC/correct_slow.c" pass \
        "$KCHECK_SLOW_PMM_RULES"
else
    run_test checker/kalloc-correct_slow-all-rules 300 tests/checker/expect.sh "$KCHECK" \
        "$KCHECK_ALLOC/correct_slow.c" pass
fi
check_planted_bugs kalloc- "$KCHECK" "$KCHECK_ALLOC" "$KCHECK_BUGS"
