# mymalloc: `make` builds the libraries and the M5 drop-in, `make test` runs
# every test, `make soak` the long stress. See README.md.

BUILD ?= build
CC ?= gcc
# GNU make defaults CC to cc; keep gcc unless the caller chose another.
ifeq ($(origin CC),default)
CC := gcc
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes

# `make debug` builds into build-debug/ with assertions and lock-order checks
# (MM_DEBUG) at -O0; `make debug-test` runs the whole suite on that build.
# `make release` (the default) builds build/ at -O2 without them.
DEBUG_CFLAGS :=
OPT := -O2 -g
ifneq ($(filter debug debug-test,$(MAKECMDGOALS)),)
BUILD := build-debug
DEBUG_CFLAGS := -DMM_DEBUG
OPT := -O0 -g $(DEBUG_CFLAGS)
endif

# The core: src/core and the platform's state (src/platform/prim.c),
# freestanding. The hosted platform's libc side is hosted.c, below.
CORE_SRCS := $(wildcard src/core/*.c) src/platform/prim.c
CORE_HDRS := $(wildcard src/core/*.h src/platform/*.h include/*.h include/mymalloc/*.h)
CORE_CFLAGS := -std=c11 $(OPT) -ffreestanding -fno-builtin -fno-stack-protector \
	-fPIC -fvisibility=hidden -DMM_PLATFORM_HOSTED -Iinclude -Isrc $(WARNINGS)
CORE_OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(CORE_SRCS))

HOSTED_CFLAGS := -std=gnu11 $(OPT) -fPIC -DMM_PLATFORM_HOSTED -Iinclude -Isrc $(WARNINGS)
# The hosted layer: its support (hooks, options, output), which the test kit
# links with the core too; vmalloc over mmap; and the API (the malloc family
# and the application API), which the test kit leaves out to keep glibc's
# malloc for itself.
HOSTED_SUPPORT_SRCS := src/hosted/threads.c src/hosted/options.c src/hosted/report.c
HOSTED_SUPPORT_OBJS := $(patsubst src/hosted/%.c,$(BUILD)/hosted/%.o,$(HOSTED_SUPPORT_SRCS))
VM_OBJ := $(BUILD)/platform/hosted.o
HOSTED_API_SRCS := src/hosted/libc.c src/hosted/app.c
HOSTED_API_OBJS := $(patsubst src/hosted/%.c,$(BUILD)/hosted/%.o,$(HOSTED_API_SRCS))
# Modules: every other directory of src/ (pool, ecc, rt, ...) is a module,
# freestanding C like the core, compiled with its flags into the libraries;
# it reaches the system only through src/platform. Its tests are a suite of
# the test kit (tests/MODULE/rules.mk, register.sh).
MODULE_DIRS := $(filter-out src/core/ src/hosted/ src/kernel/ src/m5/ src/platform/,$(wildcard src/*/))
MODULE_SRCS := $(foreach d,$(MODULE_DIRS),$(wildcard $(d)*.c))
MODULE_HDRS := $(foreach d,$(MODULE_DIRS),$(wildcard $(d)*.h))
MODULE_OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(MODULE_SRCS))
LIB_OBJS := $(CORE_OBJS) $(MODULE_OBJS) $(HOSTED_SUPPORT_OBJS) $(VM_OBJ) $(HOSTED_API_OBJS)

LIB_A := $(BUILD)/libmymalloc.a
LIB_SO := $(BUILD)/libmymalloc.so

M5_C := $(BUILD)/m5/mymalloc.c
M5_H := $(BUILD)/m5/mymalloc.h
M5_INPUTS := tools/amalgamate.sh src/m5/lab_spinlock.h $(wildcard src/core/* src/platform/*) $(CORE_HDRS)

LAUNCHER := $(BUILD)/mymalloc-run
VERSION := 0.3

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all test soak clean install debug release debug-test
all: $(LIB_A) $(LIB_SO) $(LAUNCHER) $(M5_C) $(M5_H)

# The launcher preloads the library it was made for: build/ here, the
# installed copy for make install.
$(LAUNCHER): tools/mymalloc-run.in
	@mkdir -p $(dir $@)
	sed 's|@LIB@|$(abspath $(LIB_SO))|' $< >$@ && chmod 755 $@

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(RT_LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -d $(DESTDIR)$(PREFIX)/include/mymalloc
	install -m 644 include/mymalloc.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/mymalloc/*.h $(DESTDIR)$(PREFIX)/include/mymalloc/
	sed 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(VERSION)|' tools/mymalloc.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/mymalloc.pc
	sed 's|@LIB@|$(PREFIX)/lib/libmymalloc.so|' tools/mymalloc-run.in >$(DESTDIR)$(PREFIX)/bin/mymalloc-run
	chmod 755 $(DESTDIR)$(PREFIX)/bin/mymalloc-run
	install -d $(DESTDIR)$(PREFIX)/lib/cmake/mymalloc
	install -m 644 tools/cmake/mymalloc-config.cmake $(DESTDIR)$(PREFIX)/lib/cmake/mymalloc/
	sed 's|@VERSION@|$(VERSION)|' tools/cmake/mymalloc-config-version.cmake.in \
		>$(DESTDIR)$(PREFIX)/lib/cmake/mymalloc/mymalloc-config-version.cmake

$(BUILD)/core/%.o: src/core/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(BUILD)/platform/prim.o: src/platform/prim.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(MODULE_OBJS): $(BUILD)/%.o: src/%.c $(CORE_HDRS) $(MODULE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c $< -o $@

$(BUILD)/hosted/%.o: src/hosted/%.c $(CORE_HDRS) src/hosted/hosted.h
	@mkdir -p $(dir $@)
	$(CC) $(HOSTED_CFLAGS) -c $< -o $@

$(VM_OBJ): src/platform/hosted.c $(CORE_HDRS) src/hosted/hosted.h
	@mkdir -p $(dir $@)
	$(CC) $(HOSTED_CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# -z nodelete: dlclose leaves the library mapped, since thread-exit and
# fork handlers and blocks handed out still point into it.
# -z noseparate-code: headers, code and read-only data share one segment,
# which saves a page of resident memory in every process the library is in
# (the kernel maps the whole small file on first touch anyway).
$(LIB_SO): $(LIB_OBJS)
	$(CC) -shared -Wl,-z,nodelete -Wl,-z,noseparate-code -o $@ $^ -lpthread

$(M5_H): $(M5_C)
$(M5_C): $(M5_INPUTS)
	sh tools/amalgamate.sh m5 $(BUILD)/m5

# The kernel allocator's single-file drop-in (build/kernel/kalloc.[ch]).
include src/kernel/kernel.mk
all: $(KERNEL_C) $(KERNEL_H)

# The real-time heap's single-file drop-in (build/rt/mymalloc_rt.[ch]), and
# the library's real-time mode (build/libmymalloc-rt.so, make rt-lib).
include src/rt/rt.mk
all: $(RT_C) $(RT_H)
include src/rt/rtlib.mk
all: $(RT_LIB_SO)

-include tests/tests.mk
# The checkers of students' M5 allocators and L1 kallocs (tests/checker/rules.mk).
all: $(CHECK_TOOL) $(KCHECK_TOOL)
install: checker-install
# make bench: the side-by-side benchmark suite (bench/README.md).
include bench/bench.mk

test: all test-build test-run

release: all
# The libraries and drop-ins with assertions, in build-debug/; debug-test
# runs the whole suite on them.
debug: all
debug-test: all test-build test-run

clean:
	rm -rf build build-debug
include examples/examples.mk # make examples, make run-examples (examples/README.md)
# make check: cppcheck and clang-tidy over src/ (tools/check.mk).
include tools/check.mk
