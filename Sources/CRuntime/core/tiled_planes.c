// The strip upscaler over planes in memory, read back into planes: the same tiles, weights
// and order of additions as an image file gets, without a second padded copy of the image.
#include "tiled_planes.h"

#include <limits.h>
#include <stdlib.h>

#include "failure.h"
#include "memory_rows.h"
#include "row_source.h"
#include "strip_upscaler.h"
#include "tile_grid.h"

int srf_upscale_planes(const srf_network *network, const float *input, int height, int width, int tile,
                       int pad, float *output, char *message, size_t message_size) {
  if (height < 1 || width < 1 || tile < 0 || pad < 0) {
    return srf_fail(message, message_size, SRF_FAILED,
                    "cannot upscale %dx%d planes with tile %d and pad %d: sizes must be at least "
                    "1, tile and pad at least 0", width, height, tile, pad);
  }
  srf_tiling tiling = {network->scale, network->input_multiple, tile, pad};
  int status =
      srf_check_windows(&tiling, height, width, network->max_window, message, message_size);
  if (status != SRF_OK) return status;
  int64_t out_height = (int64_t)height * tiling.scale, out_width = (int64_t)width * tiling.scale;
  if (out_height > INT_MAX || out_width > INT_MAX) {
    return srf_fail(message, message_size, SRF_FAILED, "%dx%d planes are too large to upscale",
                    width, height);
  }

  srf_rows *source = srf_memory_rows(input, width, height, 3);
  srf_rows *upscaled = source == NULL ? NULL : srf_strip_upscaler(source, network, &tiling, NULL, NULL);
  if (upscaled == NULL) return srf_out_of_memory(message, message_size);
  status = srf_collect_rows(upscaled, output, message, message_size);
  srf_rows_destroy(upscaled);
  return status;
}
