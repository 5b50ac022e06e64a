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
