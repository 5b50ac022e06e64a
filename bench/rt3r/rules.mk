# bench/rt3r/rules.mk: the 3R report (docs/3R.md; included by bench/bench.mk).
#
#   $(BENCH_OUT)/rt3r/latency-rt   bench/micro/latency.c built against the
#                                  real-time heap's drop-in (-DLATENCY_RT_HEAP)
#   make report-3r                 runs bench/rt3r/report.sh: measures latency
#                                  on every allocator, runs the reliability,
#                                  robustness and real-time tests, and writes
#                                  docs/3R.md and docs/3R-latency.png (about
#                                  3 minutes; QUICK=1 for a shorter latency
#                                  run). As root, the timed thread runs at
#                                  SCHED_FIFO and its slow samples are
#                                  classified from the kernel's events
#                                  (platform_events.h, included by latency.c)
-include src/rt/rt.mk
-include src/rt/rtlib.mk
BENCH_LATENCY_RT := $(BENCH_OUT)/rt3r/latency-rt
$(BENCH_OUT)/micro/latency: bench/rt3r/platform_events.h
$(BENCH_LATENCY_RT): bench/micro/latency.c bench/workloads/common.h bench/rt3r/platform_events.h $(RT_C) $(RT_H)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -DLATENCY_RT_HEAP -I$(RT_DIR) $< $(RT_C) -o $@ -lpthread
BENCH_MODULE_PROGS += $(BENCH_LATENCY_RT)

.PHONY: report-3r
report-3r: $(BENCH_OUT)/micro/latency $(BENCH_LATENCY_RT) $(LIB_SO) $(RT_LIB_SO) test-build
	BUILD=$(BUILD) QUICK=$(QUICK) bash bench/rt3r/report.sh
