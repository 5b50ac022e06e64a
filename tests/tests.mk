# tests.mk: build and run the mymalloc test kit.
#
# Included by the top-level Makefile, which defines BUILD, CC, CORE_SRCS,
# CORE_CFLAGS, CORE_OBJS, HOSTED_SUPPORT_SRCS, HOSTED_SUPPORT_OBJS, HOSTED_CFLAGS, M5_C,
# M5_H (and LIB_A, LIB_SO, unused here).
#
#   make test-build   every test binary, in five build types under
#                     $(BUILD)/tests/:
#                       core     library core (TLS) + hosted thread support
#                       m5       M5 amalgamation (pthreads and clone threads)
#                       tsan     library core, ThreadSanitizer
#                       tsan-m5  M5 amalgamation, ThreadSanitizer
#                       asan     library core, AddressSanitizer + UBSan
#                       trusted  library core built with MM_TRUSTED_FREE
#                                (myfree trusts its pointer; types.h)
#                       realtime library core built with MM_REALTIME (the
#                                real-time mode's bounded paths, locks that
#                                never yield) and assertions, over the
#                                kit's provider instead of the arena
#                     (the three sanitizer builds and the fuzz target with
#                     the allocator's assertions on, -DMM_DEBUG)
#                     and the libFuzzer target (clang), fuzz/fuzz_ops
#   make test-run     runs them all through tests/run.sh (a few minutes)
#   make fuzz         the fuzz target for 10 minutes, not in test-run
#   make soak         long stress of both builds (~11 minutes), not in test-run
#
# Sanitizer builds compile the core sources again, with the sanitizer flags,
# into their own directories; the normal builds link the objects of the
# top-level Makefile.

TESTS_DIR := tests
TB := $(BUILD)/tests

TESTS_CC ?= $(CC)
TESTS_WARN := -Wall -Wextra -Wno-unused-parameter
TESTS_CFLAGS := -std=gnu11 -O2 -g $(TESTS_WARN) -fno-stack-protector \
                -I$(TESTS_DIR) -Iinclude -Isrc
# How the M5 amalgamation is meant to be compiled.
TESTS_M5_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-builtin $(DEBUG_CFLAGS)

TESTS_TSAN := -fsanitize=thread -g
TESTS_ASAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer -g
# The sanitizer and fuzz builds compile the allocator with its assertions
# (platform/base.h) and lock-order checks (platform/lock.h) on.
TESTS_ASSERT := -DMM_DEBUG

# Shared pieces linked into every test program.
TESTS_LIB := testlib provider stress_engine

# Programs per build type.
TESTS_PROGS_core := stress exhaust reuse provider_test
TESTS_PROGS_m5 := stress exhaust reuse
TESTS_PROGS_tsan := stress
TESTS_PROGS_tsan-m5 := stress
TESTS_PROGS_asan := stress exhaust reuse
TESTS_PROGS_trusted := stress
TESTS_PROGS_realtime := stress exhaust reuse

# Extra compile flags of the test code per build type. The m5 types read
# the amalgamation's own header (it declares the same API).
TESTS_FLAGS_core :=
TESTS_FLAGS_m5 := -DTL_M5 -I$(dir $(M5_H))
TESTS_FLAGS_tsan := $(TESTS_TSAN)
TESTS_FLAGS_tsan-m5 := -DTL_M5 -I$(dir $(M5_H)) $(TESTS_TSAN)
TESTS_FLAGS_asan := $(TESTS_ASAN)
TESTS_FLAGS_trusted :=
TESTS_FLAGS_realtime :=

# Core (or amalgamation) objects linked per build type.
# $(call tests_core_obj,TYPE,SRC): the sanitizer object of one core source.
tests_core_obj = $(TB)/$(1)/core/$(subst /,_,$(patsubst %.c,%.o,$(2)))
TESTS_ALLOC_core := $(CORE_OBJS) $(HOSTED_SUPPORT_OBJS)
TESTS_ALLOC_m5 := $(TB)/m5/m5_mymalloc.o
TESTS_ALLOC_tsan := $(foreach s,$(CORE_SRCS) $(HOSTED_SUPPORT_SRCS),$(call tests_core_obj,tsan,$(s)))
TESTS_ALLOC_tsan-m5 := $(TB)/tsan-m5/m5_mymalloc.o
TESTS_ALLOC_asan := $(foreach s,$(CORE_SRCS) $(HOSTED_SUPPORT_SRCS),$(call tests_core_obj,asan,$(s)))
TESTS_ALLOC_trusted := $(foreach s,$(CORE_SRCS),$(call tests_core_obj,trusted,$(s))) $(HOSTED_SUPPORT_OBJS)
TESTS_ALLOC_realtime := $(foreach s,$(CORE_SRCS),$(call tests_core_obj,realtime,$(s))) $(HOSTED_SUPPORT_OBJS)

TESTS_TYPES := core m5 tsan tsan-m5 asan trusted realtime
TESTS_BINS := $(foreach t,$(TESTS_TYPES),$(addprefix $(TB)/$(t)/,$(TESTS_PROGS_$(t))))

# The libFuzzer target: clang, the core instrumented for coverage, ASan and
# UBSan; the test code and provider built the same way.
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -g
FUZZ_BIN := $(TB)/fuzz/fuzz_ops
FUZZ_OBJS := $(addprefix $(TB)/fuzz/,fuzz_ops.o testlib.o provider.o) \
             $(foreach s,$(CORE_SRCS) $(HOSTED_SUPPORT_SRCS),$(call tests_core_obj,fuzz,$(s)))

.PHONY: test-build test-run soak fuzz
test-build: $(TESTS_BINS) $(FUZZ_BIN)

# Everything run.sh needs to know about the build.
TESTS_ENV = BUILD='$(BUILD)' CC='$(CC)' CORE_OBJS='$(CORE_OBJS)' MODULE_OBJS='$(MODULE_OBJS)' \
            M5_C='$(M5_C)' M5_H='$(M5_H)'

test-run: test-build $(CORE_OBJS) $(MODULE_OBJS) $(M5_C) $(M5_H)
	$(TESTS_ENV) $(TESTS_DIR)/run.sh

soak: test-build
	$(TESTS_ENV) $(TESTS_DIR)/run.sh --soak

fuzz: $(FUZZ_BIN)
	$(FUZZ_BIN) -max_total_time=600 -max_len=4096 -print_final_stats=1

# --- rules ----------------------------------------------------------------

.PRECIOUS: $(TB)/%/.dir
$(TB)/%/.dir:
	@mkdir -p $(dir $@) && touch $@

# Test code of one build type. $(1) = type
define tests_type_rules
$(TB)/$(1)/%.o: $(TESTS_DIR)/%.c $(if $(findstring m5,$(1)),$(M5_H)) | $(TB)/$(1)/.dir
	$$(TESTS_CC) $$(TESTS_CFLAGS) $$(TESTS_FLAGS_$(1)) -MMD -MP -c $$< -o $$@
endef
$(foreach t,$(TESTS_TYPES),$(eval $(call tests_type_rules,$(t))))

# One test program. $(1) = type, $(2) = program
define tests_prog_rule
$(TB)/$(1)/$(2): $(TB)/$(1)/$(2).o $(addprefix $(TB)/$(1)/,$(addsuffix .o,$(TESTS_LIB))) $(TESTS_ALLOC_$(1))
	$$(TESTS_CC) $$(TESTS_FLAGS_$(1)) $$^ -o $$@ -lpthread
endef
$(foreach t,$(TESTS_TYPES),$(foreach p,$(TESTS_PROGS_$(t)),$(eval $(call tests_prog_rule,$(t),$(p)))))

# A core source compiled again for a sanitizer build type.
# $(1) = type, $(2) = source, $(3) = base flags, $(4) = sanitizer flags,
# $(5) = compiler (default $(TESTS_CC))
define tests_core_src_rule
$(call tests_core_obj,$(1),$(2)): $(2) | $(TB)/$(1)/core/.dir
	$$(if $(5),$(5),$$(TESTS_CC)) $(3) $(4) -MMD -MP -c $$< -o $$@
endef
$(foreach s,$(CORE_SRCS),$(eval $(call tests_core_src_rule,tsan,$(s),$$(CORE_CFLAGS) $$(TESTS_ASSERT),$$(TESTS_TSAN))))
$(foreach s,$(CORE_SRCS),$(eval $(call tests_core_src_rule,asan,$(s),$$(CORE_CFLAGS) $$(TESTS_ASSERT),$$(TESTS_ASAN))))
$(foreach s,$(CORE_SRCS),$(eval $(call tests_core_src_rule,trusted,$(s),$$(CORE_CFLAGS),-DMM_TRUSTED_FREE)))
$(foreach s,$(CORE_SRCS),$(eval $(call tests_core_src_rule,realtime,$(s),$$(CORE_CFLAGS) $$(TESTS_ASSERT),-DMM_REALTIME)))
$(foreach s,$(HOSTED_SUPPORT_SRCS),$(eval $(call tests_core_src_rule,tsan,$(s),$$(HOSTED_CFLAGS) $$(TESTS_ASSERT),$$(TESTS_TSAN))))
$(foreach s,$(HOSTED_SUPPORT_SRCS),$(eval $(call tests_core_src_rule,asan,$(s),$$(HOSTED_CFLAGS) $$(TESTS_ASSERT),$$(TESTS_ASAN))))

$(TB)/fuzz/%.o: $(TESTS_DIR)/%.c | $(TB)/fuzz/.dir
	$(FUZZ_CC) $(TESTS_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(foreach s,$(CORE_SRCS),$(eval $(call tests_core_src_rule,fuzz,$(s),$$(CORE_CFLAGS) $$(TESTS_ASSERT),$$(FUZZ_SAN) -fsanitize=fuzzer-no-link,$$(FUZZ_CC))))
$(foreach s,$(HOSTED_SUPPORT_SRCS),$(eval $(call tests_core_src_rule,fuzz,$(s),$$(HOSTED_CFLAGS) $$(TESTS_ASSERT),$$(FUZZ_SAN),$$(FUZZ_CC))))
$(FUZZ_BIN): $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ -o $@ -lpthread

# The M5 amalgamation, compiled as its users compile it (plus TSan).
$(TB)/m5/m5_mymalloc.o: $(M5_C) $(M5_H) | $(TB)/m5/.dir
	$(TESTS_CC) $(TESTS_M5_CFLAGS) -c $< -o $@
$(TB)/tsan-m5/m5_mymalloc.o: $(M5_C) $(M5_H) | $(TB)/tsan-m5/.dir
	$(TESTS_CC) $(TESTS_M5_CFLAGS) $(TESTS_TSAN) $(TESTS_ASSERT) -c $< -o $@

-include $(wildcard $(TB)/*/*.d $(TB)/*/core/*.d)

# Suites in subdirectories bring their own rules (tests/SUITE/rules.mk) and
# add what test-build must build to TESTS_SUITE_BINS.
TESTS_SUITE_BINS :=
-include $(wildcard $(TESTS_DIR)/*/rules.mk)
test-build: $(TESTS_SUITE_BINS)
