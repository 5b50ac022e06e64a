# bench/rt/rules.mk: the real-time heap's benchmark (included by
# bench/bench.mk; run by bench/rt/run.sh): $(BENCH_OUT)/rt/rt_bench, the
# drop-in build of the rt heap against glibc and a TLSF-style good-fit
# reference (bench/rt/tlsf_ref.c), all at -O2.
-include src/rt/rt.mk
BENCH_RT := $(BENCH_OUT)/rt/rt_bench
$(BENCH_RT): bench/rt/rt_bench.c bench/rt/tlsf_ref.c bench/rt/tlsf_ref.h $(RT_C) $(RT_H)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -I$(RT_DIR) -Ibench/rt bench/rt/rt_bench.c \
		bench/rt/tlsf_ref.c $(RT_C) -o $@ -lm
BENCH_MODULE_PROGS += $(BENCH_RT)
