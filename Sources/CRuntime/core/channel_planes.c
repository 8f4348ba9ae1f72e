#include "channel_planes.h"

#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "swift_float.h"

// One stage type for both directions: a source row is read into `buffer` and mapped.
typedef struct {
  srf_rows rows;
  srf_rows *source;
  float *buffer;
  int image_channels;  // the channels of the image side
} mapped_planes;

static int is_gray(int channels) { return channels <= 2; }
static int has_alpha(int channels) { return channels == 2 || channels == 4; }

static int next_network_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  mapped_planes *m = (mapped_planes *)rows;
  int status = m->source->next_row(m->source, m->buffer, message, message_size);
  if (status != SRF_OK) return status;
  size_t width = (size_t)rows->width;
  for (int plane = 0; plane < 3; plane++) {
    int channel = is_gray(m->image_channels) ? 0 : plane;
    memcpy(row + plane * width, m->buffer + channel * width, width * sizeof(float));
  }
  if (has_alpha(m->image_channels)) {
    const float *alpha = m->buffer + (size_t)(m->image_channels - 1) * width;
    for (int plane = 3; plane < 6; plane++) {
      memcpy(row + plane * width, alpha, width * sizeof(float));
    }
  }
  return SRF_OK;
}

// luma of planes first, first + 1 and first + 2, per pixel.
static void gray(const float *planes, size_t first, size_t width, float *out) {
  const float *red = planes + first * width, *green = red + width, *blue = green + width;
  for (size_t x = 0; x < width; x++) out[x] = srf_luma(red[x], green[x], blue[x]);
}

static int next_image_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  mapped_planes *m = (mapped_planes *)rows;
  int status = m->source->next_row(m->source, m->buffer, message, message_size);
  if (status != SRF_OK) return status;
  size_t width = (size_t)rows->width, count = (size_t)m->source->channels * width;
  for (size_t i = 0; i < count; i++) m->buffer[i] = srf_clamp(m->buffer[i]);
  if (is_gray(m->image_channels)) {
    gray(m->buffer, 0, width, row);
  } else {
    memcpy(row, m->buffer, 3 * width * sizeof(float));
  }
  if (has_alpha(m->image_channels)) {
    float *alpha = row + (size_t)(m->image_channels - 1) * width;
    gray(m->buffer, 3, width, alpha);
    for (size_t x = 0; x < width; x++) alpha[x] = srf_clamp(alpha[x]);
  }
  return SRF_OK;
}

static void destroy(srf_rows *rows) {
  mapped_planes *m = (mapped_planes *)rows;
  srf_rows_destroy(m->source);
  free(m->buffer);
  free(m);
}

static srf_rows *mapped(srf_rows *source, int channels, int image_channels,
                        int (*next_row)(srf_rows *, float *, char *, size_t)) {
  mapped_planes *m = calloc(1, sizeof *m);
  size_t length = (size_t)source->channels * (size_t)source->width;
  float *buffer = srf_allocate_array(length, sizeof(float));
  if (m == NULL || buffer == NULL) {
    free(m);
    free(buffer);
    srf_rows_destroy(source);
    return NULL;
  }
  m->rows = (srf_rows){source->width, source->height, channels, next_row, destroy};
  m->source = source;
  m->buffer = buffer;
  m->image_channels = image_channels;
  return &m->rows;
}

srf_rows *srf_network_planes(srf_rows *image) {
  int channels = has_alpha(image->channels) ? 6 : 3;
  return mapped(image, channels, image->channels, next_network_row);
}

srf_rows *srf_image_channels(srf_rows *planes, int channels) {
  return mapped(planes, channels, channels, next_image_row);
}
