#include "thread_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

// Spins before a worker sleeps: long enough to bridge the gap between two kernel calls.
enum { SPINS_BEFORE_SLEEP = 1 << 20 };

struct srf_pool {
  int threads;
  pthread_t *workers;
  atomic_int generation;  // bumped for every loop (and once more to stop)
  atomic_int busy;        // workers still inside the current loop
  atomic_int stopping;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  // The current loop, written before `generation` is bumped.
  void (*body)(void *, int, int);
  void *context;
  int count;
};

typedef struct {
  srf_pool *pool;
  int index;
} worker_start;

static void run_chunk(srf_pool *pool, int chunk) {
  int chunks = pool->count < pool->threads ? pool->count : pool->threads;
  if (chunk >= chunks) return;
  int begin = (int)((long long)pool->count * chunk / chunks);
  int end = (int)((long long)pool->count * (chunk + 1) / chunks);
  pool->body(pool->context, begin, end);
}

static void *work(void *argument) {
  worker_start start = *(worker_start *)argument;
  free(argument);
  srf_pool *pool = start.pool;
  int seen = 0;
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen) {
      if (++spins < SPINS_BEFORE_SLEEP) continue;
      pthread_mutex_lock(&pool->lock);
      while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen) pthread_cond_wait(&pool->wake, &pool->lock);
      pthread_mutex_unlock(&pool->lock);
    }
    seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
    if (atomic_load(&pool->stopping)) return NULL;
    run_chunk(pool, start.index);
    atomic_fetch_sub_explicit(&pool->busy, 1, memory_order_release);
  }
}

srf_pool *srf_pool_create(int threads) {
  srf_pool *pool = calloc(1, sizeof *pool);
  if (!pool) return NULL;
  pool->threads = threads < 1 ? 1 : threads;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pool->workers = calloc((size_t)pool->threads, sizeof(pthread_t));
  if (!pool->workers) {
    free(pool);
    return NULL;
  }
  for (int index = 1; index < pool->threads; index++) {
    worker_start *start = malloc(sizeof *start);
    if (start) *start = (worker_start){pool, index};
    if (!start || pthread_create(&pool->workers[index], NULL, work, start) != 0) {
      free(start);
      pool->threads = index;  // stop the ones already running
      srf_pool_destroy(pool);
      return NULL;
    }
  }
  return pool;
}

void srf_pool_destroy(srf_pool *pool) {
  if (!pool) return;
  atomic_store(&pool->stopping, 1);
  pthread_mutex_lock(&pool->lock);
  atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (int index = 1; index < pool->threads; index++) pthread_join(pool->workers[index], NULL);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->lock);
  free(pool->workers);
  free(pool);
}

int srf_pool_threads(const srf_pool *pool) { return pool->threads; }

void srf_pool_parallel_for(srf_pool *pool, int count, void (*body)(void *, int, int), void *context) {
  if (count <= 0) return;
  if (pool->threads == 1 || count == 1) {
    body(context, 0, count);
    return;
  }
  pool->body = body;
  pool->context = context;
  pool->count = count;
  atomic_store_explicit(&pool->busy, pool->threads - 1, memory_order_relaxed);
  pthread_mutex_lock(&pool->lock);
  atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  run_chunk(pool, 0);
  while (atomic_load_explicit(&pool->busy, memory_order_acquire) > 0) {
  }
}
