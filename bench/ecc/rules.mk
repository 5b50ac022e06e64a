# bench/ecc/rules.mk: protected memory's benchmark (included by
# bench/bench.mk; run by bench/ecc/run.sh), in $(BENCH_OUT)/ecc/:
#   ecc_bench      linked with build/libmymalloc.a: both codes, memcpy, the
#                  scrub, the SECDED kernels, the storage cost
#   ecc_bench_off  the module built with ECC_PROTECTION_OFF (one plain copy
#                  per block), linked with the core: the baseline

ECC_BENCH := $(BENCH_OUT)/ecc
ECC_BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Iinclude -Isrc -DMM_PLATFORM_HOSTED
ECC_BENCH_OFF_OBJS := $(patsubst src/ecc/%.c,$(ECC_BENCH)/off/%.o,$(wildcard src/ecc/*.c))

$(ECC_BENCH)/ecc_bench: bench/ecc/ecc_bench.c $(LIB_A) include/mymalloc/ecc.h
	@mkdir -p $(dir $@)
	$(CC) $(ECC_BENCH_CFLAGS) $< $(LIB_A) -o $@ -lpthread

$(ECC_BENCH)/off/%.o: src/ecc/%.c $(CORE_HDRS) $(MODULE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -DECC_PROTECTION_OFF -c $< -o $@

$(ECC_BENCH)/ecc_bench_off: bench/ecc/ecc_bench.c $(ECC_BENCH_OFF_OBJS) $(CORE_OBJS) \
                            $(HOSTED_SUPPORT_OBJS) $(VM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ECC_BENCH_CFLAGS) -DBENCH_OFF $(filter %.c %.o,$^) -o $@ -lpthread

BENCH_MODULE_PROGS += $(ECC_BENCH)/ecc_bench $(ECC_BENCH)/ecc_bench_off
