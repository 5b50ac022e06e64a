# tests/kernel/rules.mk: the kernel allocator's test programs (included by
# tests/tests.mk). The simulated multiprocessor, tests/kernel/sim.c, is
# linked three times against the amalgamation $(KERNEL_C), compiled as a
# kernel would compile it (plus -g), each time beside the plain buddy
# baseline built from it:
#   $(TB)/kernel/sim         the normal build
#   $(TB)/kernel/sim-single  -DKALLOC_SINGLE_LOCK, for the throughput
#                            comparison and its own correctness run
#   $(TB)/kernel/sim-tsan    everything under ThreadSanitizer
# with the simulated machine it runs on, tests/checker/kalloc_machine.c
# (shared with kalloc-check), and the test kit's testlib and provider,
# compiled again here with a section per function so that the linker drops
# what would reference mymalloc (tl_alloc, tl_free).
-include src/kernel/kernel.mk

TK := $(TB)/kernel
TK_KALLOC_CFLAGS := $(TESTS_M5_CFLAGS) -g
TK_SIM_CFLAGS := $(TESTS_CFLAGS) -I$(KERNEL_DIR) -Itests/checker

$(TK)/kalloc.o: $(KERNEL_C) $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_KALLOC_CFLAGS) -c $< -o $@
$(TK)/kalloc-single.o: $(KERNEL_C) $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_KALLOC_CFLAGS) -DKALLOC_SINGLE_LOCK -c $< -o $@
$(TK)/kalloc-tsan.o: $(KERNEL_C) $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_KALLOC_CFLAGS) $(TESTS_TSAN) $(TESTS_ASSERT) -c $< -o $@

# The baseline of the pressure case: a plain buddy allocator from the same
# code (-DKALLOC_BUDDY_ONLY), every global symbol renamed buddy_* so that it
# links beside kalloc.o.
tk_buddy_rename = objcopy $$(nm -g --defined-only $(1) | awk '{ printf " --redefine-sym %s=buddy_%s", $$3, $$3 }') $(1)
$(TK)/kalloc-buddy.o: $(KERNEL_C) $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_KALLOC_CFLAGS) -DKALLOC_BUDDY_ONLY -c $< -o $@
	$(call tk_buddy_rename,$@)
$(TK)/kalloc-buddy-tsan.o: $(KERNEL_C) $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_KALLOC_CFLAGS) $(TESTS_TSAN) $(TESTS_ASSERT) -DKALLOC_BUDDY_ONLY -c $< -o $@
	$(call tk_buddy_rename,$@)

$(TK)/sim.o: tests/kernel/sim.c tests/checker/kalloc_machine.h $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_SIM_CFLAGS) -MMD -MP -c $< -o $@
$(TK)/sim-tsan.o: tests/kernel/sim.c tests/checker/kalloc_machine.h $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_SIM_CFLAGS) $(TESTS_TSAN) -MMD -MP -c $< -o $@

TK_KIT := $(TK)/kalloc_machine.o $(TK)/testlib.o $(TK)/provider.o
TK_KIT_TSAN := $(TK)/kalloc_machine-tsan.o $(TK)/testlib-tsan.o $(TK)/provider-tsan.o
$(TK)/kalloc_machine.o: tests/checker/kalloc_machine.c tests/checker/kalloc_machine.h | $(TK)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) -ffunction-sections -MMD -MP -c $< -o $@
$(TK)/kalloc_machine-tsan.o: tests/checker/kalloc_machine.c tests/checker/kalloc_machine.h | $(TK)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $(TESTS_TSAN) -ffunction-sections -MMD -MP -c $< -o $@
$(TK)/%.o: tests/%.c | $(TK)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) -ffunction-sections -MMD -MP -c $< -o $@
$(TK)/%-tsan.o: tests/%.c | $(TK)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $(TESTS_TSAN) -ffunction-sections -MMD -MP -c $< -o $@

TK_LINK := -Wl,--gc-sections -lpthread
$(TK)/sim: $(TK)/sim.o $(TK)/kalloc.o $(TK)/kalloc-buddy.o $(TK_KIT)
	$(TESTS_CC) $^ -o $@ $(TK_LINK)
$(TK)/sim-single: $(TK)/sim.o $(TK)/kalloc-single.o $(TK)/kalloc-buddy.o $(TK_KIT)
	$(TESTS_CC) $^ -o $@ $(TK_LINK)
$(TK)/sim-tsan: $(TK)/sim-tsan.o $(TK)/kalloc-tsan.o $(TK)/kalloc-buddy-tsan.o $(TK_KIT_TSAN)
	$(TESTS_CC) $(TESTS_TSAN) $^ -o $@ $(TK_LINK)

# The low-memory race test: the amalgamation and one file, nothing else.
$(TK)/low_memory: tests/kernel/low_memory.c $(TK)/kalloc.o $(KERNEL_H) | $(TK)/.dir
	$(TESTS_CC) $(TK_SIM_CFLAGS) tests/kernel/low_memory.c $(TK)/kalloc.o -o $@ -lpthread

TESTS_SUITE_BINS += $(TK)/sim $(TK)/sim-single $(TK)/sim-tsan $(TK)/low_memory
