#include "png_rows.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpng.h"
#include "failure.h"
#include "swift_float.h"

// Room for libpng's longest messages.
enum { reason_capacity = 512 };

// Every PNG failure is SRF_FAILED, lack of memory included: the message already names the
// file and says what happened.

typedef struct {
  srf_rows rows;
  cpng_reader *reader;
  int bit_depth;
  void *samples;  // one row as stored: interleaved 8- or 16-bit samples
  char *path;
} png_rows;

static int next_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  png_rows *p = (png_rows *)rows;
  char reason[reason_capacity];
  cpng_status status = cpng_reader_read_row(p->reader, p->samples, reason, sizeof reason);
  if (status != CPNG_OK) {
    return srf_fail(message, message_size, SRF_FAILED, "cannot read '%s': %s", p->path, reason);
  }
  // Interleaved integers to planes: sample / max, so 8-bit k reads as exactly k / 255.
  size_t width = (size_t)rows->width, channels = (size_t)rows->channels;
  for (size_t channel = 0; channel < channels; channel++) {
    float *plane = row + channel * width;
    if (p->bit_depth == 16) {
      const uint16_t *samples = p->samples;
      for (size_t x = 0; x < width; x++) {
        plane[x] = (float)samples[x * channels + channel] / 65535.0f;
      }
    } else {
      const uint8_t *samples = p->samples;
      for (size_t x = 0; x < width; x++) {
        plane[x] = (float)samples[x * channels + channel] / 255.0f;
      }
    }
  }
  return SRF_OK;
}

static void destroy(srf_rows *rows) {
  png_rows *p = (png_rows *)rows;
  cpng_reader_close(p->reader);
  free(p->samples);
  free(p->path);
  free(p);
}

int srf_png_rows_open(const char *path, srf_rows **rows, int *bit_depth, char *message,
                      size_t message_size) {
  *rows = NULL;
  char reason[reason_capacity];
  cpng_reader *reader;
  cpng_layout layout;
  cpng_status status = cpng_reader_open(path, &reader, &layout, reason, sizeof reason);
  if (status != CPNG_OK) {
    return srf_fail(message, message_size, SRF_FAILED, "cannot read '%s': %s", path, reason);
  }
  png_rows *p = calloc(1, sizeof *p);
  size_t row_bytes =
      (size_t)layout.width * (size_t)layout.channels * (size_t)(layout.bit_depth / 8);
  void *samples = malloc(row_bytes);
  char *copy = malloc(strlen(path) + 1);
  if (p == NULL || samples == NULL || copy == NULL) {
    free(p);
    free(samples);
    free(copy);
    cpng_reader_close(reader);
    return srf_fail(message, message_size, SRF_OUT_OF_MEMORY, "cannot read '%s': out of memory",
                    path);
  }
  strcpy(copy, path);
  p->rows = (srf_rows){layout.width, layout.height, layout.channels, next_row, destroy};
  p->reader = reader;
  p->bit_depth = layout.bit_depth;
  p->samples = samples;
  p->path = copy;
  *rows = &p->rows;
  *bit_depth = layout.bit_depth;
  return SRF_OK;
}

// Planes to interleaved integers: clamp to 0...1, then round half up (x * max + 0.5, cut).
static void store_samples(const float *row, int width, int channels, int bit_depth, void *samples) {
  for (int channel = 0; channel < channels; channel++) {
    const float *plane = row + (size_t)channel * width;
    if (bit_depth == 16) {
      uint16_t *out = samples;
      for (int x = 0; x < width; x++) {
        out[(size_t)x * channels + channel] =
            (uint16_t)(srf_clamp_unit(plane[x]) * 65535.0f + 0.5f);
      }
    } else {
      uint8_t *out = samples;
      for (int x = 0; x < width; x++) {
        out[(size_t)x * channels + channel] = (uint8_t)(srf_clamp_unit(plane[x]) * 255.0f + 0.5f);
      }
    }
  }
}

static int write_failure(const char *path, const char *reason, char *message,
                         size_t message_size) {
  return srf_fail(message, message_size, SRF_FAILED, "cannot write '%s': %s", path, reason);
}

int srf_png_write_rows(srf_rows *rows, int bit_depth, const char *path, char *message,
                       size_t message_size) {
  if (rows->channels < 1 || rows->channels > 4) {
    return srf_fail(message, message_size, SRF_FAILED,
                    "cannot write '%s': channels must be 1 to 4 (got %d)", path, rows->channels);
  }
  if (bit_depth != 8 && bit_depth != 16) {
    return srf_fail(message, message_size, SRF_FAILED,
                    "cannot write '%s': bit depth must be 8 or 16 (got %d)", path, bit_depth);
  }
  size_t length = (size_t)rows->width * (size_t)rows->channels;
  float *row = srf_allocate_array(length, sizeof(float));
  void *samples = srf_allocate_array(length, (size_t)(bit_depth / 8));
  if (row == NULL || samples == NULL) {
    free(row);
    free(samples);
    return srf_fail(message, message_size, SRF_OUT_OF_MEMORY, "cannot write '%s': out of memory",
                    path);
  }

  char reason[reason_capacity];
  cpng_writer *writer = NULL;
  cpng_status png_status = cpng_writer_open(path, rows->width, rows->height, rows->channels,
                                            bit_depth, &writer, reason, sizeof reason);
  int status = png_status == CPNG_OK
                   ? SRF_OK
                   : write_failure(path, reason, message, message_size);
  for (int y = 0; y < rows->height && status == SRF_OK; y++) {
    status = rows->next_row(rows, row, message, message_size);
    if (status != SRF_OK) break;
    store_samples(row, rows->width, rows->channels, bit_depth, samples);
    png_status = cpng_writer_write_row(writer, samples, reason, sizeof reason);
    if (png_status != CPNG_OK) status = write_failure(path, reason, message, message_size);
  }
  if (status == SRF_OK) {
    // Releases the writer whatever happens, and removes the temporary file on failure.
    png_status = cpng_writer_finish(writer, reason, sizeof reason);
    if (png_status != CPNG_OK) status = write_failure(path, reason, message, message_size);
  } else {
    cpng_writer_abandon(writer);
  }
  free(row);
  free(samples);
  return status;
}
