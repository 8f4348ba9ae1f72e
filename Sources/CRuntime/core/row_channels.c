#include "row_channels.h"

#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "swift_float.h"

// One stage type for all three: up to two sources, each read into its own buffer.
typedef struct {
  srf_rows rows;
  srf_rows *first, *second;  // second: NULL but for joins
  float *buffer;             // a row of `first` (channel range only)
  int first_channel;
} channel_stage;

static void destroy(srf_rows *rows) {
  channel_stage *c = (channel_stage *)rows;
  srf_rows_destroy(c->first);
  srf_rows_destroy(c->second);
  free(c->buffer);
  free(c);
}

static srf_rows *stage(srf_rows *first, srf_rows *second, int channels, size_t buffer_floats,
                       int (*next_row)(srf_rows *, float *, char *, size_t)) {
  channel_stage *c = calloc(1, sizeof *c);
  float *buffer = buffer_floats > 0 ? srf_allocate_array(buffer_floats, sizeof(float)) : NULL;
  if (c == NULL || (buffer_floats > 0 && buffer == NULL)) {
    free(c);
    free(buffer);
    srf_rows_destroy(first);
    srf_rows_destroy(second);
    return NULL;
  }
  *c = (channel_stage){{first->width, first->height, channels, next_row, destroy}, first, second, buffer, 0};
  return &c->rows;
}

static int next_range_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  channel_stage *c = (channel_stage *)rows;
  int status = c->first->next_row(c->first, c->buffer, message, message_size);
  if (status != SRF_OK) return status;
  size_t width = (size_t)rows->width;
  memcpy(row, c->buffer + (size_t)c->first_channel * width, (size_t)rows->channels * width * sizeof(float));
  return SRF_OK;
}

srf_rows *srf_channel_range(srf_rows *source, int first, int count) {
  if (source == NULL) return NULL;
  size_t length = (size_t)source->channels * (size_t)source->width;
  srf_rows *rows = stage(source, NULL, count, length, next_range_row);
  if (rows != NULL) ((channel_stage *)rows)->first_channel = first;
  return rows;
}

static int next_joined_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  channel_stage *c = (channel_stage *)rows;
  int status = c->first->next_row(c->first, row, message, message_size);
  if (status != SRF_OK) return status;
  return c->second->next_row(c->second, row + (size_t)c->first->channels * (size_t)rows->width, message,
                             message_size);
}

srf_rows *srf_joined_rows(srf_rows *leading, srf_rows *trailing) {
  if (leading == NULL || trailing == NULL) {
    srf_rows_destroy(leading);
    srf_rows_destroy(trailing);
    return NULL;
  }
  return stage(leading, trailing, leading->channels + trailing->channels, 0, next_joined_row);
}

static int next_clamped_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  channel_stage *c = (channel_stage *)rows;
  int status = c->first->next_row(c->first, row, message, message_size);
  if (status != SRF_OK) return status;
  size_t count = (size_t)rows->channels * (size_t)rows->width;
  for (size_t i = 0; i < count; i++) row[i] = srf_clamp(row[i]);
  return SRF_OK;
}

srf_rows *srf_clamped_rows(srf_rows *source) {
  if (source == NULL) return NULL;
  return stage(source, NULL, source->channels, 0, next_clamped_row);
}
