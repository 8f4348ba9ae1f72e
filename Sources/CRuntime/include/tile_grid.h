// Where the tiles of an image go, and how their outputs are blended (first written in Swift;
// the arithmetic is kept operation for operation, so the blend weights are the same floats).
// A grid of tiles is the product of two axes, and so are its blend weights, so everything is
// decided per axis.
#ifndef SRF_TILE_GRID_H
#define SRF_TILE_GRID_H

#include <stddef.h>
#include <stdint.h>

// How a network is run over an image: its scale and input multiple, and the user's tile side
// and context (in input pixels; tile 0 runs the image whole).
typedef struct {
  int scale;
  int input_multiple;
  int64_t tile;
  int64_t pad;
} srf_tiling;

// One tile's extent along one axis. Ranges are start inclusive, end exclusive.
typedef struct {
  // The input positions the network sees; all windows of an axis have the same length.
  int64_t window_start, window_end;
  // The input positions this tile answers for: the cores of an axis partition it.
  int64_t core_start, core_end;
  // The output positions where this tile's blend weight is not zero, and those weights.
  int64_t support_start, support_end;
  float *weights;
} srf_axis_tile;

typedef struct {
  srf_axis_tile *tiles;
  size_t count;
} srf_axis;

// Every row of tiles (a strip) meets every column of tiles.
typedef struct {
  srf_axis rows;
  srf_axis columns;
} srf_tile_grid;

// `value` rounded up to the input multiple.
int64_t srf_round_up(const srf_tiling *tiling, int64_t value);

// The position that reflect padding copies to position `index` of an axis of `size`; the edge
// repeats when the axis is too small to mirror.
int64_t srf_reflected(int64_t index, int64_t size);

// The tiles of an image of this size, after padding to the input multiple; tile sides and
// context are rounded up to the multiple too. Returns SRF_OK or SRF_OUT_OF_MEMORY.
int srf_tile_grid_make(srf_tile_grid *grid, const srf_tiling *tiling, int64_t height,
                       int64_t width);

// Frees the weights and tiles; safe on a grid that failed to be made (zeroed).
void srf_tile_grid_free(srf_tile_grid *grid);

// Fails (SRF_FAILED, with a message naming the tile that would fit) when a window of the grid
// of an image of this size would be larger than `max_window`, the largest the network was
// compiled for (0: a network that runs any size).
int srf_check_windows(const srf_tiling *tiling, int64_t height, int64_t width, int max_window,
                      char *message, size_t message_size);

#endif
