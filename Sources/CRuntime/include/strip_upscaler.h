// Runs the network over an image that arrives row by row, one strip (a row of tiles of the
// same grid) at a time, and hands out output rows as soon as no later strip can add to them
// (tile_grid.h says where the tiles go). The result is that of running every tile of the whole
// padded image and blending them; only a strip's worth is in memory: the
// input rows its windows read, the output rows it blends into, and one tile in and out.
#ifndef SRF_STRIP_UPSCALER_H
#define SRF_STRIP_UPSCALER_H

#include "row_source.h"
#include "srf_network.h"
#include "tile_grid.h"

// `source` upscaled by tiling->scale. Its channels are groups of three (RGB; RGB then alpha
// as gray RGB), and every tile runs the network once per group, in order; a failed run fails
// the row being read, with the network's reason. The windows must be valid for the network
// (see srf_check_windows). NULL (and `source` destroyed) when memory runs out. `progress`
// (may be NULL) gets the fraction of the image done.
srf_rows *srf_strip_upscaler(srf_rows *source, const srf_network *network, const srf_tiling *tiling,
                             srf_progress_fn progress, void *progress_context);

#endif
