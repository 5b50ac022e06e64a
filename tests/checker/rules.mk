# tests/checker/rules.mk: mymalloc-check, the test kit as a tool for anyone's
# M5 allocator (docs/CHECK.md).
#
#   $(CHECK_TOOL)        build/mymalloc-check, tools/mymalloc-check.in with the
#                        kit's path filled in
#   $(CHECK_KIT)/        what the tool links a student's allocator with: the
#                        test programs' objects built the M5 way (the m5 test
#                        type's, -DTL_M5 against $(M5_H)), the shim and the
#                        alignment driver, bench/churn.c's object, the lab
#                        header, churn built on glibc and on our M5 drop-in
#   checker-install      copies the kit to $(PREFIX)/lib/mymalloc-check and
#                        the tool, pointing at it, to $(PREFIX)/bin
#
# The planted-bug allocators (tests/checker/alloc/) are compiled by the tool
# itself at test time, as a student's file is (register.sh).

CHECK_KIT := $(BUILD)/checker/kit
CHECK_TOOL := $(BUILD)/mymalloc-check
CHECK_KIT_TEST_OBJS := $(addprefix $(CHECK_KIT)/obj/,stress.o exhaust.o reuse.o testlib.o provider.o stress_engine.o)
CHECK_KIT_FILES := $(CHECK_KIT_TEST_OBJS) $(CHECK_KIT)/obj/shim.o $(CHECK_KIT)/obj/align.o \
                   $(CHECK_KIT)/obj/churn.o $(CHECK_KIT)/obj/vm_mmap_provider.o \
                   $(CHECK_KIT)/include/mymalloc.h $(CHECK_KIT)/bin/churn-glibc $(CHECK_KIT)/bin/churn-m5

$(CHECK_KIT_TEST_OBJS): $(CHECK_KIT)/obj/%.o: $(TB)/m5/%.o | $(CHECK_KIT)/obj/.dir
	cp $< $@
$(CHECK_KIT)/obj/shim.o $(CHECK_KIT)/obj/align.o: $(CHECK_KIT)/obj/%.o: tests/checker/%.c $(M5_H) | $(CHECK_KIT)/obj/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $(TESTS_FLAGS_m5) -c $< -o $@
$(CHECK_KIT)/obj/churn.o: bench/churn.c bench/bench_alloc.h $(M5_H) | $(CHECK_KIT)/obj/.dir
	$(CC) -O2 -I$(dir $(M5_H)) -c $< -o $@
$(CHECK_KIT)/obj/vm_mmap_provider.o: bench/vm_mmap_provider.c | $(CHECK_KIT)/obj/.dir
	$(CC) -O2 -c $< -o $@
$(CHECK_KIT)/include/mymalloc.h: $(M5_H) | $(CHECK_KIT)/include/.dir
	cp $< $@
$(CHECK_KIT)/bin/churn-glibc: bench/churn.c bench/bench_alloc.h | $(CHECK_KIT)/bin/.dir
	$(CC) -O2 -DBENCH_LIBC $< -lpthread -o $@
$(CHECK_KIT)/bin/churn-m5: $(CHECK_KIT)/obj/churn.o $(CHECK_KIT)/obj/vm_mmap_provider.o $(TB)/m5/m5_mymalloc.o | $(CHECK_KIT)/bin/.dir
	$(CC) $^ -lpthread -o $@

.PRECIOUS: $(CHECK_KIT)/%/.dir
$(CHECK_KIT)/%/.dir:
	@mkdir -p $(dir $@) && touch $@

$(CHECK_TOOL): tools/mymalloc-check.in $(CHECK_KIT_FILES)
	sed 's|@KIT@|$(abspath $(CHECK_KIT))|' $< >$@ && chmod 755 $@

.PHONY: checker-install
checker-install: $(CHECK_TOOL)
	install -d $(DESTDIR)$(PREFIX)/lib/mymalloc-check/obj $(DESTDIR)$(PREFIX)/lib/mymalloc-check/include \
		$(DESTDIR)$(PREFIX)/lib/mymalloc-check/bin $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(CHECK_KIT)/obj/*.o $(DESTDIR)$(PREFIX)/lib/mymalloc-check/obj/
	install -m 644 $(CHECK_KIT)/include/mymalloc.h $(DESTDIR)$(PREFIX)/lib/mymalloc-check/include/
	install -m 755 $(CHECK_KIT)/bin/churn-glibc $(CHECK_KIT)/bin/churn-m5 $(DESTDIR)$(PREFIX)/lib/mymalloc-check/bin/
	sed 's|@KIT@|$(PREFIX)/lib/mymalloc-check|' tools/mymalloc-check.in >$(DESTDIR)$(PREFIX)/bin/mymalloc-check
	chmod 755 $(DESTDIR)$(PREFIX)/bin/mymalloc-check

TESTS_SUITE_BINS += $(CHECK_TOOL)

# kalloc-check, the same for the L1 lab's pmm (kalloc/kfree on up to 8 CPUs):
#   $(KCHECK_TOOL)       build/kalloc-check, tools/kalloc-check.in with the
#                        kit's path filled in
#   $(KCHECK_KIT)/       the test program's objects (kalloc_driver.c, the
#                        simulated machine kalloc_machine.c, AbstractMachine
#                        as kalloc_am.c, testlib and provider with a section
#                        per function so that the link drops what would call
#                        mymalloc), the adapter for a pmm.c without `pmm`,
#                        the AbstractMachine headers (kalloc_include/), and
#                        the test program linked with mymalloc's kalloc
#                        (tests/checker/kalloc/mymalloc_pmm.c with
#                        build/kernel/kalloc.c), the throughput reference
#   kalloc-check-install the kit to $(PREFIX)/lib/kalloc-check, the tool to
#                        $(PREFIX)/bin (part of checker-install, so of
#                        make install)
KCHECK_KIT := $(BUILD)/checker/kalloc-kit
KCHECK_TOOL := $(BUILD)/kalloc-check
KCHECK_OBJS := $(addprefix $(KCHECK_KIT)/obj/,kalloc_driver.o kalloc_machine.o kalloc_am.o testlib.o provider.o)
KCHECK_HEADERS := $(addprefix $(KCHECK_KIT)/include/,am.h klib.h klib-macros.h kernel.h common.h)
KCHECK_KIT_FILES := $(KCHECK_OBJS) $(KCHECK_KIT)/obj/kalloc_pmm_adapter.o $(KCHECK_HEADERS) \
                    $(KCHECK_KIT)/bin/kalloc-run-mymalloc
KCHECK_LAB_CFLAGS := -std=gnu11 -O2 -Wall -ffreestanding -fno-builtin -fno-stack-protector

$(KCHECK_KIT)/obj/%.o: tests/checker/%.c tests/checker/kalloc_machine.h tests/testlib.h | $(KCHECK_KIT)/obj/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) -ffunction-sections -c $< -o $@
$(KCHECK_KIT)/obj/%.o: tests/%.c tests/testlib.h | $(KCHECK_KIT)/obj/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) -ffunction-sections -c $< -o $@
$(KCHECK_HEADERS): $(KCHECK_KIT)/include/%: tests/checker/kalloc_include/% | $(KCHECK_KIT)/include/.dir
	cp $< $@
# mymalloc's kalloc behind the pmm.c docs/KERNEL.md shows, pasted into one
# file with the drop-in (so that the checker can be given it alone, as a
# student's one pmm.c): every rule must pass on it (register.sh), and,
# compiled the lab's way, it is the throughput reference.
KCHECK_MYMALLOC := $(KCHECK_KIT)/mymalloc/pmm.c
$(KCHECK_MYMALLOC): tests/checker/kalloc/mymalloc_pmm.c $(KERNEL_C) $(KERNEL_H) | $(KCHECK_KIT)/mymalloc/.dir
	cp $(KERNEL_H) $(dir $@)kalloc.h
	cat tests/checker/kalloc/mymalloc_pmm.c $(KERNEL_C) >$@
$(KCHECK_KIT)/mymalloc/pmm.o: $(KCHECK_MYMALLOC) $(KCHECK_HEADERS)
	$(TESTS_CC) $(KCHECK_LAB_CFLAGS) -I$(KCHECK_KIT)/include -c $< -o $@
$(KCHECK_KIT)/bin/kalloc-run-mymalloc: $(KCHECK_OBJS) $(KCHECK_KIT)/mymalloc/pmm.o | $(KCHECK_KIT)/bin/.dir
	$(TESTS_CC) $^ -Wl,--gc-sections -lpthread -o $@

.PRECIOUS: $(KCHECK_KIT)/%/.dir
$(KCHECK_KIT)/%/.dir:
	@mkdir -p $(dir $@) && touch $@

$(KCHECK_TOOL): tools/kalloc-check.in $(KCHECK_KIT_FILES)
	sed 's|@KIT@|$(abspath $(KCHECK_KIT))|' $< >$@ && chmod 755 $@

.PHONY: kalloc-check-install
kalloc-check-install: $(KCHECK_TOOL)
	install -d $(DESTDIR)$(PREFIX)/lib/kalloc-check/obj $(DESTDIR)$(PREFIX)/lib/kalloc-check/include \
		$(DESTDIR)$(PREFIX)/lib/kalloc-check/bin $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(KCHECK_KIT)/obj/*.o $(DESTDIR)$(PREFIX)/lib/kalloc-check/obj/
	install -m 644 $(KCHECK_HEADERS) $(DESTDIR)$(PREFIX)/lib/kalloc-check/include/
	install -m 755 $(KCHECK_KIT)/bin/kalloc-run-mymalloc $(DESTDIR)$(PREFIX)/lib/kalloc-check/bin/
	sed 's|@KIT@|$(PREFIX)/lib/kalloc-check|' tools/kalloc-check.in >$(DESTDIR)$(PREFIX)/bin/kalloc-check
	chmod 755 $(DESTDIR)$(PREFIX)/bin/kalloc-check
checker-install: kalloc-check-install

TESTS_SUITE_BINS += $(KCHECK_TOOL)
