# tests/rtmode/rules.mk: the library's real-time mode (build/libmymalloc-rt.so,
# src/rt/rtlib.mk; docs/REALTIME.md). Included by tests/tests.mk; run by
# tests/rtmode/register.sh. Programs, in $(TB)/rtmode/:
#   rtmode          tests/rtmode/rtmode.c, plain: run with the library
#                   preloaded (stress, exhaustion, the seccomp count)
#   api-core, api-checked, api-verify, api-stats, api-std-linked,
#   api-life-linked the API suite's linked programs (tests/api), linked with
#                   the real-time library under the name libmymalloc.so
#                   ($(TB)/rtmode/lib/); the plain ones (std, life, cxx)
#                   run preloaded
#
#   make test-rtmode-build   only these (and the library)
-include src/rt/rtlib.mk

TRM := $(TB)/rtmode
RTMODE_LIBDIR := $(TRM)/lib
RTMODE_LINK := -L$(abspath $(RTMODE_LIBDIR)) -lmymalloc -Wl,-rpath,$(abspath $(RTMODE_LIBDIR))

$(TRM)/rtmode: tests/rtmode/rtmode.c | $(TRM)/.dir
	$(TESTS_CC) $(TESTS_CFLAGS) -fno-builtin $< -o $@ -lpthread

# The real-time library under the name the API programs link with.
$(RTMODE_LIBDIR)/libmymalloc.so: $(RT_LIB_SO) | $(TRM)/.dir
	@mkdir -p $(dir $@)
	cp $< $@

# (tests/api/rules.mk defines API_CC, API_CFLAGS, API_LIBS, used in recipes.)
RTMODE_API_HDRS := tests/api/api_test.h include/mymalloc.h
RTMODE_API := core checked verify stats
# stats: -DAPI_REALTIME leaves out the tests of the memory-return policy
# (unmapping, retention, the shared cache, huge pages, slab growth), which
# this mode replaces by its arena.
$(addprefix $(TRM)/api-,$(RTMODE_API)): $(TRM)/api-%: tests/api/%.c $(RTMODE_API_HDRS) $(RTMODE_LIBDIR)/libmymalloc.so
	$(API_CC) $(API_CFLAGS) $(if $(filter stats,$*),-DAPI_REALTIME) $< -o $@ $(RTMODE_LINK) $(API_LIBS)
$(TRM)/api-std-linked $(TRM)/api-life-linked: $(TRM)/api-%-linked: tests/api/%.c $(RTMODE_API_HDRS) $(RTMODE_LIBDIR)/libmymalloc.so
	$(API_CC) $(API_CFLAGS) $< -o $@ $(RTMODE_LINK) $(API_LIBS)

RTMODE_BINS := $(TRM)/rtmode $(addprefix $(TRM)/api-,$(RTMODE_API) std-linked life-linked)
TESTS_SUITE_BINS += $(RTMODE_BINS) $(RT_LIB_SO)

.PHONY: test-rtmode-build
test-rtmode-build: $(RTMODE_BINS) $(RT_LIB_SO) $(addprefix $(TB)/api/,std life cxx)
