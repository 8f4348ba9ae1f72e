// Persistent worker threads for the parallel loops of a network run (one per kernel call, a
// few hundred per tile), as Sources/SRRuntime/ThreadPool.swift: idle workers spin briefly on a
// generation counter, then sleep.
#ifndef SRF_THREAD_POOL_H
#define SRF_THREAD_POOL_H

typedef struct srf_pool srf_pool;

// A pool of `threads` threads counting the caller; NULL if threads could not be started.
srf_pool *srf_pool_create(int threads);
void srf_pool_destroy(srf_pool *pool);
int srf_pool_threads(const srf_pool *pool);

// Calls body(context, begin, end) on disjoint ranges covering [0, count), one per thread (the
// caller runs the first), and returns when all are done. One loop at a time.
void srf_pool_parallel_for(srf_pool *pool, int count, void (*body)(void *context, int begin, int end), void *context);

#endif
