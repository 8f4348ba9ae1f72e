#include "tile_grid.h"

#include <stdio.h>
#include <stdlib.h>

#include "failure.h"
#include "swift_float.h"

int64_t srf_round_up(const srf_tiling *tiling, int64_t value) {
  int64_t multiple = tiling->input_multiple;
  return (value + multiple - 1) / multiple * multiple;
}

int64_t srf_reflected(int64_t index, int64_t size) {
  if (size <= 1) return 0;
  int64_t period = 2 * (size - 1);
  int64_t folded = index % period;
  return folded < size ? folded : period - folded;
}

// An axis no longer than one window is one tile (so is every axis when `tile` is 0).
static int is_one_tile(int64_t length, int64_t tile, int64_t context) {
  return tile <= 0 || !(length > tile + 2 * context);
}

// The blend weight of a tile towards a side with context `margin` output positions wide, at
// `distance` from the window's edge: 0 over the outer half of the margin, rising to 1 half a
// margin inside the core. No context (an end of the axis) means no ramp.
static float rise(float distance, float margin) {
  return margin == 0 ? 1 : srf_min(srf_max((distance - margin / 2) / margin, 0), 1);
}

// The weights of one tile's window before normalization, into `ramp` (window x scale values).
static void blend_ramp(float *ramp, const srf_axis_tile *tile, int64_t axis_length, int scale) {
  float before =
      tile->window_start == 0 ? 0 : (float)((tile->core_start - tile->window_start) * scale);
  float after =
      tile->window_end == axis_length ? 0 : (float)((tile->window_end - tile->core_end) * scale);
  int64_t count = (tile->window_end - tile->window_start) * scale;
  float length = (float)count;
  for (int64_t index = 0; index < count; index++) {
    float position = (float)index + 0.5f;
    ramp[index] = srf_min(rise(position, before), rise(length - position, after));
  }
}

static int one_tile(srf_axis *axis, int64_t length, int scale) {
  axis->tiles = calloc(1, sizeof *axis->tiles);
  if (axis->tiles == NULL) return SRF_OUT_OF_MEMORY;
  axis->count = 1;
  srf_axis_tile *tile = &axis->tiles[0];
  *tile = (srf_axis_tile){0, length, 0, length, 0, length * scale, NULL};
  tile->weights = srf_allocate_array((size_t)(length * scale), sizeof(float));
  if (tile->weights == NULL) return SRF_OUT_OF_MEMORY;
  for (int64_t i = 0; i < length * scale; i++) tile->weights[i] = 1;
  return SRF_OK;
}

// Cores `tile` long (the last one whatever remains), windows `context` wider on each side and
// shifted inward at the ends; weights normalized so that the tiles' weights sum to 1 at every
// output position.
static int axis_tiles(srf_axis *axis, int64_t length, int64_t tile, int64_t context, int scale) {
  if (is_one_tile(length, tile, context)) return one_tile(axis, length, scale);
  int64_t window_length = tile + 2 * context;
  size_t count = (size_t)((length + tile - 1) / tile);
  axis->tiles = calloc(count, sizeof *axis->tiles);
  if (axis->tiles == NULL) return SRF_OUT_OF_MEMORY;
  axis->count = count;
  for (size_t t = 0; t < count; t++) {
    int64_t core_start = (int64_t)t * tile;
    int64_t window_start = core_start - context;
    if (window_start < 0) window_start = 0;
    if (window_start > length - window_length) window_start = length - window_length;
    srf_axis_tile *a = &axis->tiles[t];
    a->window_start = window_start;
    a->window_end = window_start + window_length;
    a->core_start = core_start;
    a->core_end = core_start + tile < length ? core_start + tile : length;
  }

  float *ramp = srf_allocate_array((size_t)(window_length * scale), sizeof(float));
  float *total = calloc((size_t)(length * scale), sizeof(float));
  int status = ramp == NULL || total == NULL ? SRF_OUT_OF_MEMORY : SRF_OK;
  for (size_t t = 0; t < count && status == SRF_OK; t++) {
    blend_ramp(ramp, &axis->tiles[t], length, scale);
    int64_t start = axis->tiles[t].window_start * scale;
    for (int64_t offset = 0; offset < window_length * scale; offset++) {
      total[start + offset] += ramp[offset];
    }
  }
  // The ramps are computed again rather than kept: the same arithmetic gives the same floats.
  for (size_t t = 0; t < count && status == SRF_OK; t++) {
    srf_axis_tile *a = &axis->tiles[t];
    blend_ramp(ramp, a, length, scale);
    int64_t first = 0, last = window_length * scale - 1;
    while (!(ramp[first] > 0)) first++;
    while (!(ramp[last] > 0)) last--;
    int64_t start = a->window_start * scale;
    a->support_start = start + first;
    a->support_end = start + last + 1;
    a->weights = srf_allocate_array((size_t)(last - first + 1), sizeof(float));
    if (a->weights == NULL) {
      status = SRF_OUT_OF_MEMORY;
      break;
    }
    for (int64_t k = first; k <= last; k++) a->weights[k - first] = ramp[k] / total[start + k];
  }
  free(ramp);
  free(total);
  return status;
}

int srf_tile_grid_make(srf_tile_grid *grid, const srf_tiling *tiling, int64_t height,
                       int64_t width) {
  *grid = (srf_tile_grid){{NULL, 0}, {NULL, 0}};
  int64_t tile = srf_round_up(tiling, tiling->tile), context = srf_round_up(tiling, tiling->pad);
  int status = axis_tiles(&grid->rows, srf_round_up(tiling, height), tile, context, tiling->scale);
  if (status == SRF_OK) {
    status = axis_tiles(&grid->columns, srf_round_up(tiling, width), tile, context, tiling->scale);
  }
  if (status != SRF_OK) srf_tile_grid_free(grid);
  return status;
}

static void free_axis(srf_axis *axis) {
  for (size_t t = 0; t < axis->count && axis->tiles != NULL; t++) free(axis->tiles[t].weights);
  free(axis->tiles);
  axis->tiles = NULL;
  axis->count = 0;
}

void srf_tile_grid_free(srf_tile_grid *grid) {
  free_axis(&grid->rows);
  free_axis(&grid->columns);
}

// The window length of an axis of `length` input positions (before padding).
static int64_t window_side(const srf_tiling *tiling, int64_t length) {
  int64_t padded = srf_round_up(tiling, length);
  int64_t tile = srf_round_up(tiling, tiling->tile), context = srf_round_up(tiling, tiling->pad);
  return is_one_tile(padded, tile, context) ? padded : tile + 2 * context;
}

int srf_check_windows(const srf_tiling *tiling, int64_t height, int64_t width, int max_window,
                      char *message, size_t message_size) {
  int64_t rows = window_side(tiling, height), columns = window_side(tiling, width);
  int64_t side = rows > columns ? rows : columns;
  if (max_window == 0 || side <= max_window) return SRF_OK;

  // The largest tile whose windows fit, rounded as the grid rounds it.
  int64_t multiple = tiling->input_multiple;
  int64_t fitting = (max_window - 2 * srf_round_up(tiling, tiling->pad)) / multiple * multiple;
  char advice[96] = "";
  if (fitting > 0) snprintf(advice, sizeof advice, "; use --tile %lld or less", (long long)fitting);
  if (tiling->tile <= 0) {
    return srf_fail(message, message_size, SRF_FAILED,
                    "--tile 0 runs each image whole, but this network was compiled for tiles of at "
                    "most %d pixels and this image is %lldx%lld (srfuse compile --tile)%s",
                    max_window, (long long)width, (long long)height, advice);
  }
  return srf_fail(message, message_size, SRF_FAILED,
                  "--tile %lld needs tiles of %lld pixels, but this network was compiled for at "
                  "most %d (srfuse compile --tile)%s",
                  (long long)tiling->tile, (long long)side, max_window, advice);
}
