#include "memory_rows.h"

#include <stdlib.h>
#include <string.h>

#include "failure.h"

typedef struct {
  srf_rows rows;
  const float *planes;
  int next;
} memory_rows;

static int next_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  (void)message, (void)message_size;
  memory_rows *m = (memory_rows *)rows;
  size_t width = (size_t)rows->width, height = (size_t)rows->height;
  for (size_t channel = 0; channel < (size_t)rows->channels; channel++) {
    memcpy(row + channel * width, m->planes + (channel * height + (size_t)m->next) * width,
           width * sizeof(float));
  }
  m->next += 1;
  return SRF_OK;
}

static void destroy(srf_rows *rows) { free(rows); }

srf_rows *srf_memory_rows(const float *planes, int width, int height, int channels) {
  memory_rows *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  *m = (memory_rows){{width, height, channels, next_row, destroy}, planes, 0};
  return &m->rows;
}

int srf_collect_rows(srf_rows *rows, float *planes, char *message, size_t message_size) {
  size_t width = (size_t)rows->width, height = (size_t)rows->height;
  size_t channels = (size_t)rows->channels;
  float *row = srf_allocate_array(channels * width, sizeof(float));
  if (row == NULL) return srf_out_of_memory(message, message_size);
  int status = SRF_OK;
  for (size_t y = 0; y < height && status == SRF_OK; y++) {
    status = rows->next_row(rows, row, message, message_size);
    for (size_t channel = 0; channel < channels && status == SRF_OK; channel++) {
      memcpy(planes + (channel * height + y) * width, row + channel * width, width * sizeof(float));
    }
  }
  free(row);
  return status;
}
