// An image handed out one row at a time, top to bottom, so that an image far larger than
// memory can flow from a PNG file through the network and resampling back to a file. Stages
// are lazy: a row is decoded or computed when it is asked for.
//
// A row is channel-planar: `channels` runs of `width` floats, so value x of channel c is
// row[c * width + x].
#ifndef SRF_ROW_SOURCE_H
#define SRF_ROW_SOURCE_H

#include <stddef.h>

typedef struct srf_rows srf_rows;

struct srf_rows {
  int width;
  int height;
  int channels;
  // Writes the next row into `row` (channels * width floats). Returns SRF_OK, or a failure
  // status with the reason in `message`. Callers ask for exactly `height` rows.
  int (*next_row)(srf_rows *rows, float *row, char *message, size_t message_size);
  // Releases this stage and the stages it reads from.
  void (*destroy)(srf_rows *rows);
};

// Stages own their source. A stage constructor that fails (only for lack of memory, when it
// returns NULL) destroys its source too, so a pipeline is built without cleanup at each step.

static inline void srf_rows_destroy(srf_rows *rows) {
  if (rows != NULL) rows->destroy(rows);
}

#endif
