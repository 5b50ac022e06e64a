# bench.mk: the benchmark suite (see bench/README.md).
#
# Included by the top-level Makefile, which defines BUILD, CC and LIB_SO.
#
#   make bench-build   the workloads, the micro-benchmarks and measure, built
#                      with -O2 into $(BUILD)/bench/
#   make bench         installs missing peers where it can (bench/peers.sh),
#                      builds the programs and the library, then runs bench/run.sh:
#                      every workload on glibc, mymalloc and each installed
#                      peer; writes $(BUILD)/bench/results.{csv,md,png}.
#                      QUICK=1 for the one-minute version.

LIB_SO ?= $(BUILD)/libmymalloc.so
BENCH_OUT := $(BUILD)/bench
# -fno-builtin-*: the compiler may neither drop a malloc/free pair nor assume
# anything of the allocator under test.
BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-function \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
	-D_GNU_SOURCE -Ibench/workloads
BENCH_WORKLOADS := $(patsubst bench/workloads/%.c,%,$(wildcard bench/workloads/*.c))
BENCH_MICROS := $(patsubst bench/micro/%.c,%,$(wildcard bench/micro/*.c))
BENCH_PROGS := $(addprefix $(BENCH_OUT)/,$(BENCH_WORKLOADS)) \
	$(addprefix $(BENCH_OUT)/micro/,$(BENCH_MICROS)) $(BENCH_OUT)/measure

.PHONY: bench bench-build
bench-build: $(BENCH_PROGS)

$(BENCH_OUT)/%: bench/workloads/%.c bench/workloads/common.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lpthread

$(BENCH_OUT)/micro/%: bench/micro/%.c bench/workloads/common.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -lpthread

$(BENCH_OUT)/measure: tools/measure.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra $< -o $@

# Modules' benchmarks bring their own rules (bench/MODULE/rules.mk), adding
# what they build to BENCH_MODULE_PROGS.
BENCH_MODULE_PROGS :=
-include $(wildcard bench/*/rules.mk)
bench-build: $(BENCH_MODULE_PROGS)

# Missing peers first (bench/peers.sh: installed as root with apt-get, else
# the command to run is printed; PEERS=no installs nothing); bench-build
# then runs in a make that sees the pool peers' pkg-config modules.
bench: $(LIB_SO)
	BUILD=$(BUILD) PEERS=$(PEERS) bash bench/peers.sh
	$(MAKE) bench-build
	BUILD=$(BUILD) MYMALLOC_SO=$(LIB_SO) QUICK=$(QUICK) bash bench/run.sh
