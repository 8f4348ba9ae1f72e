// Rows waiting to be used, first in first out: the few input and output rows a streaming stage
// keeps while a window slides down the image.
#ifndef SRF_ROW_QUEUE_H
#define SRF_ROW_QUEUE_H

#include <stddef.h>

typedef struct {
  float **rows;  // a ring of malloc'ed rows
  size_t capacity;
  size_t head;
  size_t count;
} srf_row_queue;

// Appends `row`, taking it over. Returns SRF_OK, or SRF_OUT_OF_MEMORY after freeing `row`.
int srf_row_queue_push(srf_row_queue *queue, float *row);

// The row `index` places after the first.
float *srf_row_queue_at(const srf_row_queue *queue, size_t index);

// Removes the first row and hands it back (the caller frees it).
float *srf_row_queue_pop(srf_row_queue *queue);

// Frees every row and the ring; the queue is empty and usable afterwards.
void srf_row_queue_clear(srf_row_queue *queue);

#endif
