# bench/pool/rules.mk: the pool benchmark's programs (included by
# bench/bench.mk; run by bench/pool/run.sh), in $(BENCH_OUT)/pool/:
#   request-pool   the request workload on mymalloc's region pools
#                  (linked with build/libmymalloc.so)
#   request-peers  the same on APR and talloc (those installed: pkg-config
#                  apr-1, talloc) and on malloc/free (LD_PRELOAD picks it)
#   cache-pool     the object-cache workload on fixed-size pools and on
#                  mymalloc's malloc (linked)
#   cache-plain    the same on the process's malloc (LD_PRELOAD)
#   ops            loops of one operation, for callgrind's counts

POOL_BENCH := $(BENCH_OUT)/pool
POOL_BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Iinclude
POOL_BENCH_LINK := -L$(dir $(LIB_SO)) -lmymalloc -Wl,-rpath,$(abspath $(dir $(LIB_SO))) -lpthread
POOL_BENCH_APR := $(shell pkg-config --exists apr-1 2>/dev/null && echo yes)
POOL_BENCH_TALLOC := $(shell pkg-config --exists talloc 2>/dev/null && echo yes)
POOL_PEER_FLAGS := $(if $(POOL_BENCH_APR),-DBENCH_APR $(shell pkg-config --cflags apr-1 2>/dev/null)) \
	$(if $(POOL_BENCH_TALLOC),-DBENCH_TALLOC $(shell pkg-config --cflags talloc 2>/dev/null))
POOL_PEER_LIBS := $(if $(POOL_BENCH_APR),$(shell pkg-config --libs apr-1 2>/dev/null)) \
	$(if $(POOL_BENCH_TALLOC),$(shell pkg-config --libs talloc 2>/dev/null))

$(POOL_BENCH)/request-pool: bench/pool/request.c bench/pool/bench_pool.h include/mymalloc/pool.h $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) $(POOL_BENCH_CFLAGS) -DBENCH_POOL $< -o $@ $(POOL_BENCH_LINK)
$(POOL_BENCH)/request-peers: bench/pool/request.c bench/pool/bench_pool.h
	@mkdir -p $(dir $@)
	$(CC) $(POOL_BENCH_CFLAGS) $(POOL_PEER_FLAGS) $< -o $@ $(POOL_PEER_LIBS) -lpthread
$(POOL_BENCH)/cache-pool: bench/pool/cache.c bench/pool/bench_pool.h include/mymalloc/pool.h $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) $(POOL_BENCH_CFLAGS) -DBENCH_POOL $< -o $@ $(POOL_BENCH_LINK)
$(POOL_BENCH)/cache-plain: bench/pool/cache.c bench/pool/bench_pool.h
	@mkdir -p $(dir $@)
	$(CC) $(POOL_BENCH_CFLAGS) $< -o $@ -lpthread
$(POOL_BENCH)/ops: bench/pool/ops.c include/mymalloc/pool.h $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) $(POOL_BENCH_CFLAGS) $< -o $@ $(POOL_BENCH_LINK)

BENCH_MODULE_PROGS += $(addprefix $(POOL_BENCH)/,request-pool request-peers cache-pool cache-plain ops)
