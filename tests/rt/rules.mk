# tests/rt/rules.mk: the real-time heap's tests (included by tests/tests.mk;
# run by tests/rt/register.sh). Programs, in $(TB)/rt/, all from
# tests/rt/rt_test.c:
#   rt_test          linked with build/libmymalloc.a (the library build:
#                    MM_API exports, errno through the platform)
#   rt_test-dropin   with the drop-in $(RT_C), compiled as its users compile
#                    it (plus -g)
#   rt_test-white    the drop-in's code included in the test (white box:
#                    the calls and pending cases hold the good-fit lock as
#                    a contending thread would), same flags as rt_test-dropin;
#                    rt_test-white-tsan the same under ThreadSanitizer
#   rt_test-tsan     the drop-in and the test under ThreadSanitizer,
#   rt_test-asan     resp. AddressSanitizer + UBSan, with -DMM_DEBUG
# tests/rt/instr.sh runs rt_test-white under callgrind (the instruction
# bound); tests/rt/dropin.sh checks the drop-in's compile line again.
#
#   make test-rt-build   only these
-include src/rt/rt.mk

TR := $(TB)/rt
RT_TEST_HDRS := include/mymalloc/rt.h $(wildcard src/rt/*.h) tests/rt/adversary.h tests/check.h
RT_DROPIN_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-builtin -g

$(TR)/rt_test: tests/rt/rt_test.c $(RT_TEST_HDRS) $(LIB_A) | $(TR)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $< -o $@ $(LIB_A) -lpthread

$(TR)/mymalloc_rt.o: $(RT_C) $(RT_H) | $(TR)/.dir
	$(TESTS_CC) $(RT_DROPIN_CFLAGS) -c $< -o $@
$(TR)/mymalloc_rt-tsan.o: $(RT_C) $(RT_H) | $(TR)/.dir
	$(TESTS_CC) $(RT_DROPIN_CFLAGS) $(TESTS_TSAN) $(TESTS_ASSERT) -c $< -o $@
$(TR)/mymalloc_rt-asan.o: $(RT_C) $(RT_H) | $(TR)/.dir
	$(TESTS_CC) $(RT_DROPIN_CFLAGS) $(TESTS_ASAN) $(TESTS_ASSERT) -c $< -o $@

RT_TEST_DROPIN_CFLAGS := $(TESTS_CFLAGS) -DRT_TEST_DROPIN -I$(RT_DIR)
$(TR)/rt_test-dropin: tests/rt/rt_test.c $(TR)/mymalloc_rt.o
	$(TESTS_CC) $(RT_TEST_DROPIN_CFLAGS) $^ -o $@ -lpthread
$(TR)/rt_test-white: tests/rt/rt_test.c $(RT_C) $(RT_H) | $(TR)/.dir
	$(TESTS_CC) $(RT_TEST_DROPIN_CFLAGS) -O2 -DRT_TEST_WHITEBOX $< -o $@ -lpthread
$(TR)/rt_test-white-tsan: tests/rt/rt_test.c $(RT_C) $(RT_H) | $(TR)/.dir
	$(TESTS_CC) $(RT_TEST_DROPIN_CFLAGS) $(TESTS_TSAN) $(TESTS_ASSERT) -DRT_TEST_WHITEBOX $< -o $@ \
		-lpthread
$(TR)/rt_test-tsan: tests/rt/rt_test.c $(TR)/mymalloc_rt-tsan.o
	$(TESTS_CC) $(RT_TEST_DROPIN_CFLAGS) $(TESTS_TSAN) $^ -o $@ -lpthread
$(TR)/rt_test-asan: tests/rt/rt_test.c $(TR)/mymalloc_rt-asan.o
	$(TESTS_CC) $(RT_TEST_DROPIN_CFLAGS) $(TESTS_ASAN) $^ -o $@ -lpthread

# White-box tests (tests/rt/white_box.h compiles the heap's sources into the
# test, with assertions): stale_pointer, free_reuse_race (deterministic
# interleavings), handoff_stress (and its TSan build), sizing_pending.
RT_WHITE_BOX := stale_pointer free_reuse_race handoff_stress sizing_pending
RT_WHITE_BOX_DEPS := tests/rt/white_box.h $(wildcard src/rt/*.c) $(RT_TEST_HDRS)
$(addprefix $(TR)/,$(RT_WHITE_BOX)): $(TR)/%: tests/rt/%.c $(RT_WHITE_BOX_DEPS) | $(TR)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $(TESTS_ASSERT) $< -o $@ -lpthread
$(TR)/handoff_stress-tsan: tests/rt/handoff_stress.c $(RT_WHITE_BOX_DEPS) | $(TR)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $(TESTS_TSAN) $(TESTS_ASSERT) $< -o $@ -lpthread

RT_TEST_BINS := $(addprefix $(TR)/,rt_test rt_test-dropin rt_test-white rt_test-white-tsan \
	rt_test-tsan rt_test-asan handoff_stress-tsan $(RT_WHITE_BOX))
TESTS_SUITE_BINS += $(RT_TEST_BINS)

.PHONY: test-rt-build
test-rt-build: $(RT_TEST_BINS)
