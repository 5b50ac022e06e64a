# examples/examples.mk: builds the examples (examples/README.md) into
# $(BUILD)/examples/ and runs them.
#
#   make examples       builds them
#   make run-examples   builds and runs each; one line per example, then
#                       "N passed, N failed"; fails if one failed
#
# Included by the top-level Makefile and by tests/examples/rules.mk (which
# has `make test` run them), whichever comes first; it needs LIB_A, LIB_SO,
# M5_C, M5_H, KERNEL_C and KERNEL_H from the Makefile, and leaves the default
# goal as it was.
ifndef EXAMPLES_MK_INCLUDED
EXAMPLES_MK_INCLUDED := 1
examples_mk_default_goal := $(.DEFAULT_GOAL)

EXAMPLES_OUT := $(BUILD)/examples
EXAMPLES_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Iinclude -Iexamples
# The drop-ins are compiled as the M5 lab and a kernel compile them.
EXAMPLES_DROPIN_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-builtin

# Linked with the static library; simple with the shared one (rpath).
EXAMPLES_STATIC := stress_single stress_threads pools ecc realtime
EXAMPLES_BINS := $(addprefix $(EXAMPLES_OUT)/,simple $(EXAMPLES_STATIC) m5_dropin kernel_dropin)

$(EXAMPLES_OUT)/.dir:
	@mkdir -p $(dir $@) && touch $@

$(EXAMPLES_OUT)/simple: examples/simple.c examples/example.h include/mymalloc.h $(LIB_SO) | $(EXAMPLES_OUT)/.dir
	$(CC) $(EXAMPLES_CFLAGS) $< -o $@ -L$(dir $(LIB_SO)) -lmymalloc -Wl,-rpath,$(abspath $(dir $(LIB_SO)))

$(addprefix $(EXAMPLES_OUT)/,$(EXAMPLES_STATIC)): $(EXAMPLES_OUT)/%: examples/%.c examples/example.h $(wildcard include/*.h include/mymalloc/*.h) $(LIB_A) | $(EXAMPLES_OUT)/.dir
	$(CC) $(EXAMPLES_CFLAGS) $< -o $@ $(LIB_A) -lpthread

$(EXAMPLES_OUT)/m5_mymalloc.o: $(M5_C) $(M5_H) | $(EXAMPLES_OUT)/.dir
	$(CC) $(EXAMPLES_DROPIN_CFLAGS) -c $< -o $@
$(EXAMPLES_OUT)/m5_dropin: examples/m5_dropin.c examples/example.h $(EXAMPLES_OUT)/m5_mymalloc.o
	$(CC) $(EXAMPLES_CFLAGS) -I$(dir $(M5_H)) $< $(EXAMPLES_OUT)/m5_mymalloc.o -o $@ -lpthread

$(EXAMPLES_OUT)/kalloc.o: $(KERNEL_C) $(KERNEL_H) | $(EXAMPLES_OUT)/.dir
	$(CC) $(EXAMPLES_DROPIN_CFLAGS) -c $< -o $@
$(EXAMPLES_OUT)/kernel_dropin: examples/kernel_dropin.c examples/example.h $(EXAMPLES_OUT)/kalloc.o
	$(CC) $(EXAMPLES_CFLAGS) -I$(dir $(KERNEL_H)) $< $(EXAMPLES_OUT)/kalloc.o -o $@ -lpthread

.PHONY: examples run-examples
examples: $(EXAMPLES_BINS)
run-examples: $(EXAMPLES_BINS)
	sh examples/run.sh $(EXAMPLES_BINS)

.DEFAULT_GOAL := $(examples_mk_default_goal)
endif
