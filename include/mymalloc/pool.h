/*
 * mymalloc/pool.h: memory pools, in the hosted library (build/libmymalloc.*)
 * and in the freestanding core (without CPU and NUMA affinity there).
 * docs/POOLS.md has the design, an example and the measurements.
 *
 * Two kinds, chosen by pool_config_t.object_size:
 *   region pool (object_size 0): palloc of any size bumps a pointer; pfree
 *       does nothing; pool_clear gives every block back at once.
 *   fixed-size pool (object_size > 0): palloc(pool, n) with n <= object_size
 *       returns one object; pfree makes it reusable at once. O(1) both.
 * Every pool can be cleared (all of its blocks at once) and destroyed, has
 * sub-pools (cleared and destroyed with it) and cleanups (run at clear and
 * destroy, last registered first).
 *
 * Threads: a pool without POOL_SHARED is used by one thread at a time (no
 * atomic operation on its paths). With POOL_SHARED, palloc, pcalloc,
 * pfree, pool_cleanup_register, pool_create of a sub-pool and pool_stats
 * may run at once on any threads; POOL_PER_CPU adds a cache (fixed-size) or
 * a bump region (region pool) per CPU. pool_clear and pool_destroy always
 * need the pool (and its sub-pools) to be idle.
 *
 * Errors: NULL and errno ENOMEM when memory cannot be had; NULL and EINVAL
 * for an invalid argument (a config that makes no sense, a CPU or node that
 * does not exist, palloc of more than object_size, a parent that is not a
 * live pool). A bad pointer given to pfree (not a live object of that
 * fixed-size pool, or one freed already), or a pool_clear/pool_destroy of
 * something that is not a live pool, is reported like a bad free: the
 * hosted library prints a message and aborts; nothing is changed.
 * pfree_checked returns -1 instead.
 */
#ifndef MYMALLOC_POOL_H
#define MYMALLOC_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mm_pool pool_t;

/* Flags of pool_config_t.flags. */
#define POOL_SHARED 1u  /* many threads may use the pool at once */
#define POOL_PER_CPU 2u /* with POOL_SHARED: a cache per CPU */

typedef struct pool_config {
    pool_t *parent;     /* NULL: a root pool; else cleared and destroyed with its parent */
    size_t object_size; /* 0: a region pool; > 0: a fixed-size pool of objects of this size
                           (at most 1 MiB) */
    size_t capacity;    /* objects (fixed-size) or bytes (region) reserved at creation:
                           palloc never fails within them (see below); 0: none */
    int cpu;            /* -1: none; else the pool's pages are bound to this CPU's node */
    int numa_node;      /* -1: none; else the pool's pages are bound to this node */
    unsigned flags;     /* POOL_SHARED, POOL_PER_CPU */
    const char *name;   /* NULL: none; else a name (copied, up to 31 bytes) for pool_name */
} pool_config_t;
#define POOL_CONFIG_DEFAULT ((pool_config_t){.cpu = -1, .numa_node = -1})

/* pool_create(config): a new pool; NULL config means POOL_CONFIG_DEFAULT
 * (a root region pool). A sub-pool (parent set) takes its parent's cpu and
 * numa_node where its own are -1. EINVAL for: unknown flags, POOL_PER_CPU
 * without POOL_SHARED, object_size above 1 MiB, a region pool with both
 * capacity and POOL_PER_CPU, a cpu or numa_node that does not exist (or any
 * affinity where the platform knows no CPUs and nodes, as in the
 * freestanding build), a parent that is not a live pool. ENOMEM when the
 * capacity cannot be reserved.
 *
 * Capacity. Region pool: the pool's first region holds `capacity` bytes, so
 * pallocs whose sizes, each rounded up to 16, total at most `capacity`
 * never map memory and never fail. Fixed-size pool: slabs for `capacity`
 * objects are mapped at creation, so palloc never fails while fewer than
 * `capacity` objects are live. Both keep their reservation across
 * pool_clear.
 *
 * Affinity (hosted, Linux): the pages of the pool (its header, regions and
 * slabs, mapped afresh for it) are bound with mbind(MPOL_BIND) to
 * numa_node, or else to the node of `cpu`, before anything touches them.
 */
pool_t *pool_create(const pool_config_t *config);

/* palloc(pool, size): a block of `size` bytes, 16-byte aligned. Region
 * pool: any size; the common case bumps a pointer; blocks above 8 KiB get
 * a region of their own, which goes back at clear too. Fixed-size pool:
 * size <= object_size (else NULL, EINVAL). palloc(pool, 0) returns a
 * unique block, like palloc(pool, 1). NULL, ENOMEM when memory cannot be
 * had or size is absurd (above 2^46). */
void *palloc(pool_t *pool, size_t size);

/* pcalloc(pool, size): palloc, zeroed. */
void *pcalloc(pool_t *pool, size_t size);

/* pfree(pool, ptr): fixed-size pool: the object is reusable at once (by
 * any thread of a POOL_SHARED pool); a pointer that is not a live object of
 * this pool is reported (above). Region pool: nothing (the block goes back
 * at clear). NULL: nothing. */
void pfree(pool_t *pool, void *ptr);

/* pfree_checked(pool, ptr): pfree, returning 0; -1 and nothing done for a
 * pointer pfree would report. Region pool: 0 for a pointer into one of its
 * regions (a walk of them), -1 otherwise. NULL: 0. */
int pfree_checked(pool_t *pool, void *ptr);

/* pool_clear(pool): runs the cleanups (last registered first, each once),
 * destroys the sub-pools, frees every block; the pool stays usable. It
 * keeps its capacity, or if none, its first region plus up to 192 KiB of
 * regions or slabs (256 KiB in all) for its next use, and gives the rest
 * back: to the pools' shared cache of regions, then to the system.
 * O(regions + cleanups + sub-pools), never O(blocks). pool_clear(NULL)
 * does nothing. */
void pool_clear(pool_t *pool);

/* pool_destroy(pool): clear, then give back all of the pool's memory.
 * pool_destroy(NULL) does nothing. The pointer is dangling afterwards: a
 * pool_clear or pool_destroy of it, or pool_create with it as parent, is
 * refused (reported, resp. EINVAL) as long as no new pool took its address;
 * every other call on it (palloc, pcalloc, pfree, pfree_checked,
 * pool_cleanup_register, pool_stats, pool_name, pool_parent) is undefined,
 * as a use after free (debug builds assert). */
void pool_destroy(pool_t *pool);

/* pool_cleanup_register(pool, fn, arg): fn(arg) runs at the next clear or
 * destroy, before the sub-pools go. 0, or -1 with ENOMEM (EINVAL for a
 * NULL fn). The cleanups run in the clearing thread, with no lock held:
 * they may use the pool's memory (it goes after them) and any allocator. */
int pool_cleanup_register(pool_t *pool, void (*fn)(void *), void *arg);

/* ---- beyond the contract: what users of APR and talloc would miss ------ */

/* A copy of a string, of at most n bytes of it (always terminated), of
 * bytes; in the pool (a region pool for any length; a fixed-size pool when
 * it fits an object). NULL as palloc. */
char *pstrdup(pool_t *pool, const char *s);
char *pstrndup(pool_t *pool, const char *s, size_t n);
void *pmemdup(pool_t *pool, const void *src, size_t size);

/* The name given in pool_config_t (a copy), or "" if none. */
const char *pool_name(const pool_t *pool);

/* The pool's parent, or NULL for a root pool. */
pool_t *pool_parent(const pool_t *pool);

typedef struct pool_stats {
    size_t bytes_held;   /* mapped for this pool now (not its sub-pools) */
    size_t bytes_in_use; /* region: handed out since the last clear (each request rounded
                            up to 16); fixed-size: live objects x their stride */
    size_t blocks;       /* region: pallocs since the last clear; fixed-size: live objects */
    size_t regions;      /* mappings the pool holds: regions, large blocks, slabs */
    size_t subpools;     /* live direct sub-pools */
} pool_stats_t;

/* pool_stats(pool, stats): fills *stats; 0, or -1 (EINVAL) if pool is not
 * a live pool. A POOL_SHARED pool's figures are a snapshot. */
int pool_stats(pool_t *pool, pool_stats_t *stats);

/* pool_trim(): unmap every region the pools' shared cache keeps (regions
 * of cleared and destroyed pools, at most 8 MiB). */
void pool_trim(void);

#ifdef __cplusplus
}
#endif

#endif /* MYMALLOC_POOL_H */
