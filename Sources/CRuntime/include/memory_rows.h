// Planes in memory as a stream of rows, and a stream of rows collected into planes: how the
// static library and `srfuse bench` (and the tests) feed the pipeline from memory.
#ifndef SRF_MEMORY_ROWS_H
#define SRF_MEMORY_ROWS_H

#include <stddef.h>

#include "row_source.h"

// The rows of `channels` planes of height x width floats at `planes`, which must stay valid
// while the rows are read (they are not copied). NULL when memory runs out.
srf_rows *srf_memory_rows(const float *planes, int width, int height, int channels);

// Reads every row of `rows` into `planes` (channels x height x width floats). Returns SRF_OK,
// or the failure of a row with its reason in `message`.
int srf_collect_rows(srf_rows *rows, float *planes, char *message, size_t message_size);

#endif
