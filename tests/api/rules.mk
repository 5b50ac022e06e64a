# tests/api/rules.mk: the API test suite (tests/api/*.c, *.cc; each file says
# what it tests). Included by tests/tests.mk; run by tests/api/register.sh.
#
# Programs, in $(TB)/api/:
#   linked with build/libmymalloc.so (rpath):  core checked stats verify env
#                                              std-linked life-linked cxx-linked
#   linked with build/libmymalloc.a:           life-static (-rdynamic, for dlsym)
#   plain, for LD_PRELOAD / dlopen / tools:    std life cxx probe tools
#
#   make test-api-build only this suite's programs
#   make test-api-ref   runs the plain programs on glibc, and on jemalloc if
#                       it is installed: checks of the tests themselves
#
# API_LIB_SO / API_LIB_A choose the library the linked programs use (default
# the build's own), e.g. to try the tests on a reference implementation.

API_DIR := $(TESTS_DIR)/api
API_OUT := $(TB)/api
API_LIB_SO ?= $(LIB_SO)
API_LIB_A ?= $(LIB_A)
API_LIBDIR = $(abspath $(dir $(API_LIB_SO)))

API_CC ?= $(TESTS_CC)
API_CXX ?= g++
API_WARN := -Wall -Wextra
# -fno-builtin: the compiler must not drop a malloc/free pair the test makes.
API_CFLAGS := -std=gnu11 -O2 -g -fno-builtin $(API_WARN) -Iinclude -I$(API_DIR)
API_CXXFLAGS := -std=gnu++17 -O2 -g -fno-builtin $(API_WARN) -Iinclude -I$(API_DIR)
API_SO_LINK = -L$(API_LIBDIR) -lmymalloc -Wl,-rpath,$(API_LIBDIR)
API_LIBS := -lpthread -ldl
API_HDRS := $(API_DIR)/api_test.h include/mymalloc.h

comma := ,
API_PLAIN := std life probe tools
API_LINKED := core checked stats verify env

API_BINS := $(addprefix $(API_OUT)/,$(API_PLAIN) $(API_LINKED) std-linked life-linked \
                life-static cxx cxx-linked)

$(addprefix $(API_OUT)/,$(API_PLAIN)): $(API_OUT)/%: $(API_DIR)/%.c $(API_HDRS) | $(API_OUT)/.dir
	$(API_CC) $(API_CFLAGS) $< -o $@ $(API_LIBS)

$(addprefix $(API_OUT)/,$(API_LINKED)): $(API_OUT)/%: $(API_DIR)/%.c $(API_HDRS) $(API_LIB_SO) | $(API_OUT)/.dir
	$(API_CC) $(API_CFLAGS) $< -o $@ $(API_SO_LINK) $(API_LIBS)

$(API_OUT)/std-linked $(API_OUT)/life-linked: $(API_OUT)/%-linked: $(API_DIR)/%.c $(API_HDRS) $(API_LIB_SO) | $(API_OUT)/.dir
	$(API_CC) $(API_CFLAGS) $< -o $@ $(API_SO_LINK) $(API_LIBS)

# -rdynamic and --undefined: the entry points life looks up with dlsym must be
# linked in from the archive and exported.
API_STATIC_SYMS := mymalloc myfree myusable_size allocator_verify
$(API_OUT)/life-static: $(API_DIR)/life.c $(API_HDRS) $(API_LIB_A) | $(API_OUT)/.dir
	$(API_CC) $(API_CFLAGS) -rdynamic $(addprefix -Wl$(comma)--undefined=,$(API_STATIC_SYMS)) \
	    $< -o $@ $(API_LIB_A) $(API_LIBS)

$(API_OUT)/cxx: $(API_DIR)/cxx.cc $(API_HDRS) | $(API_OUT)/.dir
	$(API_CXX) $(API_CXXFLAGS) $< -o $@ $(API_LIBS)

$(API_OUT)/cxx-linked: $(API_DIR)/cxx.cc $(API_HDRS) $(API_LIB_SO) | $(API_OUT)/.dir
	$(API_CXX) $(API_CXXFLAGS) $< -o $@ $(API_SO_LINK) $(API_LIBS)

TESTS_SUITE_BINS += $(API_BINS)

.PHONY: test-api-build
test-api-build: $(API_BINS)

API_JEMALLOC := /usr/lib/x86_64-linux-gnu/libjemalloc.so.2

.PHONY: test-api-ref
test-api-ref: $(addprefix $(API_OUT)/,std life cxx)
	$(API_OUT)/std --expect=glibc
	$(API_OUT)/cxx --expect=glibc
	$(API_OUT)/life --case=ctor --expect=glibc
	$(API_OUT)/life --case=fork --expect=glibc
	$(API_OUT)/life --case=threads --expect=glibc
	if [ -f $(API_JEMALLOC) ]; then \
	    for t in "std" "cxx" "life --case=ctor" "life --case=fork" "life --case=threads"; do \
	        LD_PRELOAD=$(API_JEMALLOC) $(API_OUT)/$$t --expect=jemalloc || exit 1; \
	    done; \
	fi
