# tests/valgrind/rules.mk: valgrind and AddressSanitizer understand mymalloc
# (docs/DEBUGGING.md). Included by tests/tests.mk; run by
# tests/valgrind/register.sh. Programs, in $(TB)/valgrind/:
#   vg_prog        tests/valgrind/vg_prog.c linked with build/libmymalloc.a:
#                  a clean program and the planted bugs (check.sh)
#   larson         bench/workloads/larson.c and glibc-simple.c linked with
#   glibc-simple   build/libmymalloc.a: a concurrent stress (threads that
#                  exit and hand their blocks to successors) and a
#                  single-thread one, under memcheck
#   asan_uaf       tests/valgrind/asan_uaf.c on the core built with
#                  AddressSanitizer (the test kit's asan objects)
#
#   make valgrind  memcheck (--error-exitcode, --leak-check=full) over
#                  vg_prog, the two stresses and the examples linked with the
#                  library (examples/: simple, stress_single, stress_threads,
#                  pools, ecc, realtime); 0 errors each (about 2 minutes,
#                  most of it the two stress examples)

VG_DIR := $(TESTS_DIR)/valgrind
VG_OUT := $(TB)/valgrind
VG_CFLAGS := -std=gnu11 -O1 -g -fno-builtin -Wall -Wextra -Iinclude
VG_WORKLOAD_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -fno-builtin-free \
	-fno-builtin-calloc -fno-builtin-realloc -Ibench/workloads
VG_WORKLOADS := larson glibc-simple

$(VG_OUT)/vg_prog: $(VG_DIR)/vg_prog.c include/mymalloc.h include/mymalloc/pool.h $(LIB_A) | $(VG_OUT)/.dir
	$(TESTS_CC) $(VG_CFLAGS) $< -o $@ $(LIB_A) -lpthread

$(addprefix $(VG_OUT)/,$(VG_WORKLOADS)): $(VG_OUT)/%: bench/workloads/%.c bench/workloads/common.h $(LIB_A) | $(VG_OUT)/.dir
	$(TESTS_CC) $(VG_WORKLOAD_CFLAGS) $< -o $@ $(LIB_A) -lpthread -ldl

$(VG_OUT)/asan_uaf: $(VG_DIR)/asan_uaf.c $(TB)/asan/provider.o $(TB)/asan/testlib.o $(TESTS_ALLOC_asan) | $(VG_OUT)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $(TESTS_ASAN) $< $(TB)/asan/provider.o $(TB)/asan/testlib.o \
	    $(TESTS_ALLOC_asan) -o $@ -lpthread

VG_BINS := $(addprefix $(VG_OUT)/,vg_prog $(VG_WORKLOADS) asan_uaf)
TESTS_SUITE_BINS += $(VG_BINS)

# The examples linked with the library (examples/examples.mk, when there is
# one); the two drop-ins are not: the M5 one finds its CPU with RDPID, which
# valgrind cannot decode.
VG_EXAMPLES := simple stress_single stress_threads pools ecc realtime

.PHONY: valgrind test-valgrind-build
test-valgrind-build: $(VG_BINS)
valgrind: $(VG_BINS)
	@if [ -f examples/examples.mk ]; then $(MAKE) --no-print-directory examples; fi
	VG_LOGS=$(VG_OUT)/logs sh $(VG_DIR)/memcheck.sh "$(VG_OUT)/vg_prog clean" \
	    "$(VG_OUT)/glibc-simple --rounds=4" \
	    "$(VG_OUT)/larson --threads=4 --ops=200000 --rounds=8 --slots=500" \
	    $(foreach e,$(VG_EXAMPLES),$(if $(wildcard examples/$(e).c),"$(BUILD)/examples/$(e)"))
