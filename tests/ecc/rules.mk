# tests/ecc/rules.mk: protected memory's tests (included by tests/tests.mk;
# run by tests/ecc/register.sh). Programs, in $(TB)/ecc/:
#   codec        the codes against a bit-by-bit reference (tests/ecc/codec.c),
#                with the module's own codec object
#   api          the public calls, flips aimed through the internal walk,
#                threads (tests/ecc/api.c), linked with $(LIB_A)
#   api-tsan     the same under ThreadSanitizer, api-asan under
#                AddressSanitizer + UBSan: the module, src/platform/prim.c and
#                src/platform/hosted.c compiled again with -DMM_DEBUG and the
#                sanitizer, linked with the test kit's sanitizer core objects
#   workload     the program the injector attacks (tests/ecc/workload.c)
# and $(BUILD)/ecc-inject, the external fault injector (tools/ecc-inject.c).
#
#   make ecc-soak   the suite's soak runs (register.sh): 10^6 injected flips,
#                   longer thread runs; about 8 minutes

ECC_T := $(TB)/ecc
ECC_SRCS := $(wildcard src/ecc/*.c)
ECC_HDRS := $(wildcard src/ecc/*.h) include/mymalloc/ecc.h src/platform/mapped.h \
            src/platform/lock.h
ECC_TEST_CFLAGS := $(TESTS_CFLAGS) -DMM_PLATFORM_HOSTED
ECC_INJECT := $(BUILD)/ecc-inject

$(ECC_T)/codec: tests/ecc/codec.c $(BUILD)/ecc/codec.o $(ECC_HDRS) | $(ECC_T)/.dir
	$(TESTS_CC) $(ECC_TEST_CFLAGS) $< $(BUILD)/ecc/codec.o -o $@

$(ECC_T)/api $(ECC_T)/workload: $(ECC_T)/%: tests/ecc/%.c $(LIB_A) $(ECC_HDRS) | $(ECC_T)/.dir
	$(TESTS_CC) $(ECC_TEST_CFLAGS) $< $(LIB_A) -o $@ -lpthread

$(ECC_INJECT): tools/ecc-inject.c tests/ecc/shared.h tests/check.h | $(ECC_T)/.dir
	$(TESTS_CC) -std=gnu11 -O2 -g -Wall -Wextra -Itests $< -o $@

# $(1) = tsan or asan, $(2) = the sanitizer flags.
define ecc_sanitizer_rules
$(ECC_T)/$(1)/%.o: src/ecc/%.c $(ECC_HDRS) $(CORE_HDRS) | $(ECC_T)/$(1)/.dir
	$$(TESTS_CC) $$(CORE_CFLAGS) $(2) -DMM_DEBUG -c $$< -o $$@
$(ECC_T)/$(1)/prim.o: src/platform/prim.c $(CORE_HDRS) | $(ECC_T)/$(1)/.dir
	$$(TESTS_CC) $$(CORE_CFLAGS) $(2) -DMM_DEBUG -c $$< -o $$@
$(ECC_T)/$(1)/hosted.o: src/platform/hosted.c $(CORE_HDRS) | $(ECC_T)/$(1)/.dir
	$$(TESTS_CC) $$(HOSTED_CFLAGS) $(2) -c $$< -o $$@
$(ECC_T)/api-$(1): tests/ecc/api.c $(patsubst src/ecc/%.c,$(ECC_T)/$(1)/%.o,$(ECC_SRCS)) \
                   $(ECC_T)/$(1)/prim.o $(ECC_T)/$(1)/hosted.o \
                   $(filter-out %_platform_prim.o,$(TESTS_ALLOC_$(1))) $(ECC_HDRS)
	$$(TESTS_CC) $$(ECC_TEST_CFLAGS) $(2) $$(filter %.c %.o,$$^) -o $$@ -lpthread
endef
$(eval $(call ecc_sanitizer_rules,tsan,$(TESTS_TSAN)))
$(eval $(call ecc_sanitizer_rules,asan,$(TESTS_ASAN)))

ECC_TEST_BINS := $(addprefix $(ECC_T)/,codec api api-tsan api-asan workload) $(ECC_INJECT)
TESTS_SUITE_BINS += $(ECC_TEST_BINS)

.PHONY: ecc-soak
ecc-soak: $(ECC_TEST_BINS)
	$(TESTS_ENV) $(TESTS_DIR)/run.sh --soak '^ecc/'
