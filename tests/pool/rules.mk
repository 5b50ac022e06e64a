# tests/pool/rules.mk: the pools' tests (included by tests/tests.mk; run by
# tests/pool/register.sh). Programs, in $(TB)/pool/:
#   pool_test          tests/pool/pool_test.c linked with build/libmymalloc.a
#                      (it reads the hidden count of bytes held)
#   tsan/pool_test     the same on the core, the hosted support, the hosted
#   asan/pool_test     platform and the pools compiled again with
#                      ThreadSanitizer, resp. AddressSanitizer + UBSan, and
#                      -DMM_DEBUG (assertions, lock-order checks); the test
#                      keeps glibc's malloc
#   pool_exhaust       tests/pool/pool_exhaust.c on the core objects, the
#                      pools and the test kit's capped provider (vmalloc)
#
#   make test-pool-build   only these

TP := $(TB)/pool
POOL_SRCS := $(wildcard src/pool/*.c)
POOL_OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(POOL_SRCS))
POOL_TEST_HDRS := include/mymalloc/pool.h $(wildcard src/pool/*.h) $(CORE_HDRS)

$(TP)/pool_test: tests/pool/pool_test.c tests/pool/pool_check.h $(POOL_TEST_HDRS) $(LIB_A) | $(TP)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $< -o $@ $(LIB_A) -lpthread

# The sanitizer builds: every library source again, with -DMM_DEBUG.
# $(1) = tsan or asan, $(2) = its flags
define pool_san_rules
POOL_SAN_OBJS_$(1) := $$(patsubst src/%.c,$(TP)/$(1)/%.o,$(CORE_SRCS) $(POOL_SRCS)) \
	$$(patsubst src/%.c,$(TP)/$(1)/%.o,$(HOSTED_SUPPORT_SRCS) src/platform/hosted.c)
$$(patsubst src/%.c,$(TP)/$(1)/%.o,$(CORE_SRCS) $(POOL_SRCS)): $(TP)/$(1)/%.o: src/%.c $(POOL_TEST_HDRS)
	@mkdir -p $$(dir $$@)
	$$(TESTS_CC) $$(CORE_CFLAGS) -DMM_DEBUG $(2) -c $$< -o $$@
$$(patsubst src/%.c,$(TP)/$(1)/%.o,$(HOSTED_SUPPORT_SRCS) src/platform/hosted.c): $(TP)/$(1)/%.o: src/%.c $(POOL_TEST_HDRS) src/hosted/hosted.h
	@mkdir -p $$(dir $$@)
	$$(TESTS_CC) $$(HOSTED_CFLAGS) -DMM_DEBUG $(2) -c $$< -o $$@
$(TP)/$(1)/pool_test: tests/pool/pool_test.c tests/pool/pool_check.h $$(POOL_SAN_OBJS_$(1)) | $(TP)/.dir
	@mkdir -p $$(dir $$@)
	$$(TESTS_CC) $$(TESTS_CFLAGS) $(2) $$< $$(POOL_SAN_OBJS_$(1)) -o $$@ -lpthread
endef
$(eval $(call pool_san_rules,tsan,$(TESTS_TSAN)))
$(eval $(call pool_san_rules,asan,$(TESTS_ASAN)))

$(TP)/pool_exhaust: tests/pool/pool_exhaust.c tests/pool/pool_check.h $(POOL_TEST_HDRS) $(CORE_OBJS) $(POOL_OBJS) \
		$(HOSTED_SUPPORT_OBJS) $(TB)/core/provider.o $(TB)/core/testlib.o | $(TP)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) $< $(CORE_OBJS) $(POOL_OBJS) $(HOSTED_SUPPORT_OBJS) \
		$(TB)/core/provider.o $(TB)/core/testlib.o -o $@ -lpthread

POOL_TEST_BINS := $(TP)/pool_test $(TP)/tsan/pool_test $(TP)/asan/pool_test $(TP)/pool_exhaust
TESTS_SUITE_BINS += $(POOL_TEST_BINS)

.PHONY: test-pool-build
test-pool-build: $(POOL_TEST_BINS)
