// The strip upscaler over planes in memory gives TiledUpscaler.upscale's floats (the tiles,
// weights and order of additions are the same), without a second padded copy of the image.
#include "tiled_planes.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "row_source.h"
#include "strip_upscaler.h"
#include "tile_grid.h"

// The rows of three planes in memory.
typedef struct {
  srf_rows rows;
  const float *planes;
  int next;
} plane_rows;

static int next_plane_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  (void)message, (void)message_size;
  plane_rows *p = (plane_rows *)rows;
  size_t width = (size_t)rows->width, height = (size_t)rows->height;
  for (size_t channel = 0; channel < 3; channel++) {
    memcpy(row + channel * width, p->planes + (channel * height + (size_t)p->next) * width,
           width * sizeof(float));
  }
  p->next += 1;
  return SRF_OK;
}

static void destroy_plane_rows(srf_rows *rows) { free(rows); }

int srf_upscale_planes(srf_network *network, const float *input, int height, int width, int tile,
                       int pad, float *output, char *message, size_t message_size) {
  if (height < 1 || width < 1 || tile < 0 || pad < 0) {
    return srf_fail(message, message_size, SRF_FAILED,
                    "cannot upscale %dx%d planes with tile %d and pad %d: sizes must be at least "
                    "1, tile and pad at least 0", width, height, tile, pad);
  }
  srf_tiling tiling = {srf_model.scale, srf_model.input_multiple, tile, pad};
  int status =
      srf_check_windows(&tiling, height, width, srf_model.max_window, message, message_size);
  if (status != SRF_OK) return status;
  int64_t out_height = (int64_t)height * tiling.scale, out_width = (int64_t)width * tiling.scale;
  if (out_height > INT_MAX || out_width > INT_MAX) {
    return srf_fail(message, message_size, SRF_FAILED, "%dx%d planes are too large to upscale",
                    width, height);
  }

  plane_rows *source = calloc(1, sizeof *source);
  if (source == NULL) return srf_out_of_memory(message, message_size);
  *source = (plane_rows){{width, height, 3, next_plane_row, destroy_plane_rows}, input, 0};
  srf_rows *upscaled = srf_strip_upscaler(&source->rows, network, &tiling, NULL, NULL);
  float *row = upscaled == NULL ? NULL : srf_allocate_array(3 * (size_t)out_width, sizeof(float));
  if (row == NULL) {
    srf_rows_destroy(upscaled);
    return srf_out_of_memory(message, message_size);
  }
  for (int64_t y = 0; y < out_height && status == SRF_OK; y++) {
    status = upscaled->next_row(upscaled, row, message, message_size);
    for (int64_t channel = 0; channel < 3 && status == SRF_OK; channel++) {
      memcpy(output + (channel * out_height + y) * out_width, row + channel * out_width,
             (size_t)out_width * sizeof(float));
    }
  }
  free(row);
  srf_rows_destroy(upscaled);
  return status;
}
