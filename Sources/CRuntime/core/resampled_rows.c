#include "resampled_rows.h"

#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "row_queue.h"

typedef struct {
  srf_rows rows;
  srf_rows *source;
  // Per output column and per output row; `has_*` is 0 where that axis keeps its size.
  srf_taps column_taps, row_taps;
  int has_column_taps, has_row_taps;
  // Horizontally resampled input rows window_start ..< window_start + window.count.
  srf_row_queue window;
  long long window_start;
  int next_output_row;
  float *source_row;  // one input row, as read
} resampled_rows;

// Each channel's part of the row is one row of the whole-image horizontal pass: each output
// sample is a weighted sum of neighbouring input samples, summed from 0 in tap order.
static void resample_horizontally(const resampled_rows *r, const float *input, float *output) {
  const srf_taps *taps = &r->column_taps;
  int in_width = r->source->width, out_width = r->rows.width;
  for (int channel = 0; channel < r->rows.channels; channel++) {
    const float *in_row = input + (size_t)channel * in_width;
    float *out_row = output + (size_t)channel * out_width;
    for (int x = 0; x < out_width; x++) {
      const float *weights = taps->weights + (size_t)x * taps->stride;
      const float *samples = in_row + taps->first[x];
      float sum = 0;
      for (int k = 0; k < taps->length[x]; k++) sum += weights[k] * samples[k];
      out_row[x] = sum;
    }
  }
}

// The next input row, resampled horizontally, into `output` (channels x output width).
static int next_resampled_row(resampled_rows *r, float *output, char *message,
                              size_t message_size) {
  if (!r->has_column_taps) return r->source->next_row(r->source, output, message, message_size);
  int status = r->source->next_row(r->source, r->source_row, message, message_size);
  if (status == SRF_OK) resample_horizontally(r, r->source_row, output);
  return status;
}

static int next_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  resampled_rows *r = (resampled_rows *)rows;
  if (!r->has_row_taps) return next_resampled_row(r, row, message, message_size);
  int index = r->next_output_row++;
  int first = r->row_taps.first[index], length = r->row_taps.length[index];
  size_t row_length = (size_t)rows->channels * (size_t)rows->width;

  while (r->window_start < first) {  // rows no later output reads
    if (r->window.count == 0) {
      int status = r->source->next_row(r->source, r->source_row, message, message_size);
      if (status != SRF_OK) return status;
    } else {
      free(srf_row_queue_pop(&r->window));
    }
    r->window_start += 1;
  }
  while (r->window_start + (long long)r->window.count < (long long)first + length) {
    float *resampled = srf_allocate_array(row_length, sizeof(float));
    if (resampled == NULL) return srf_out_of_memory(message, message_size);
    int status = next_resampled_row(r, resampled, message, message_size);
    if (status != SRF_OK) {
      free(resampled);
      return status;
    }
    if (srf_row_queue_push(&r->window, resampled) != SRF_OK) {
      return srf_out_of_memory(message, message_size);
    }
  }

  memset(row, 0, row_length * sizeof(float));
  const float *weights = r->row_taps.weights + (size_t)index * r->row_taps.stride;
  for (int k = 0; k < length; k++) {
    const float *source = srf_row_queue_at(&r->window, (size_t)(first + k - r->window_start));
    float weight = weights[k];
    for (size_t i = 0; i < row_length; i++) row[i] += weight * source[i];
  }
  return SRF_OK;
}

static void destroy(srf_rows *rows) {
  resampled_rows *r = (resampled_rows *)rows;
  srf_rows_destroy(r->source);
  srf_taps_free(&r->column_taps);
  srf_taps_free(&r->row_taps);
  srf_row_queue_clear(&r->window);
  free(r->source_row);
  free(r);
}

srf_rows *srf_resampled_rows(srf_rows *source, int to_width, int to_height, srf_filter filter) {
  resampled_rows *r = calloc(1, sizeof *r);
  if (r == NULL) {
    srf_rows_destroy(source);
    return NULL;
  }
  r->rows = (srf_rows){to_width, to_height, source->channels, next_row, destroy};
  r->source = source;
  int status = SRF_OK;
  r->has_column_taps = to_width != source->width;
  r->has_row_taps = to_height != source->height;
  if (r->has_column_taps) status = srf_taps_make(&r->column_taps, source->width, to_width, filter);
  if (status == SRF_OK && r->has_row_taps) {
    status = srf_taps_make(&r->row_taps, source->height, to_height, filter);
  }
  size_t source_length = (size_t)source->channels * (size_t)source->width;
  r->source_row = srf_allocate_array(source_length, sizeof(float));
  if (status != SRF_OK || r->source_row == NULL) {
    destroy(&r->rows);
    return NULL;
  }
  return &r->rows;
}
