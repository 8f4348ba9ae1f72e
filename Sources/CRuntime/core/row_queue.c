#include "row_queue.h"

#include <stdlib.h>

#include "failure.h"

int srf_row_queue_push(srf_row_queue *queue, float *row) {
  if (queue->count == queue->capacity) {
    size_t capacity = queue->capacity == 0 ? 8 : 2 * queue->capacity;
    float **rows = srf_allocate_array(capacity, sizeof *rows);
    if (rows == NULL) {
      free(row);
      return SRF_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < queue->count; i++) rows[i] = srf_row_queue_at(queue, i);
    free(queue->rows);
    queue->rows = rows;
    queue->capacity = capacity;
    queue->head = 0;
  }
  queue->rows[(queue->head + queue->count) % queue->capacity] = row;
  queue->count += 1;
  return SRF_OK;
}

float *srf_row_queue_at(const srf_row_queue *queue, size_t index) {
  return queue->rows[(queue->head + index) % queue->capacity];
}

float *srf_row_queue_pop(srf_row_queue *queue) {
  float *row = queue->rows[queue->head];
  queue->head = (queue->head + 1) % queue->capacity;
  queue->count -= 1;
  return row;
}

void srf_row_queue_clear(srf_row_queue *queue) {
  while (queue->count > 0) free(srf_row_queue_pop(queue));
  free(queue->rows);
  queue->rows = NULL;
  queue->capacity = 0;
  queue->head = 0;
}
