// The network over float planes of any size, in memory: what the static library and `srfuse
// bench` run. Reflect-pads to the input multiple, runs overlapping tiles, blends them and
// crops; values are not clamped.
#ifndef SRF_TILED_PLANES_H
#define SRF_TILED_PLANES_H

#include <stddef.h>

#include "srf_network.h"

// `input` is 3 planes (R, G, B) of height x width floats (both at least 1); `output` receives
// 3 planes of (height x scale) x (width x scale). `tile` is the tile side in input pixels
// (0: one tile), `pad` the context on each side. Returns 0, or nonzero with the reason in
// `message` (a window larger than the network was compiled for, a failed network run, or no
// memory).
int srf_upscale_planes(const srf_network *network, const float *input, int height, int width, int tile,
                       int pad, float *output, char *message, size_t message_size);

#endif
