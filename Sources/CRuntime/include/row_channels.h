// Stages that pick, join and clamp the channels of a stream of rows: how an image's alpha is
// taken apart from its colour and put back (--alpha bicubic).
#ifndef SRF_ROW_CHANNELS_H
#define SRF_ROW_CHANNELS_H

#include "row_source.h"

// Channels first ..< first + count of `source`. NULL (and `source` destroyed) when memory
// runs out; NULL for a NULL source, so stages chain without a check at each step.
srf_rows *srf_channel_range(srf_rows *source, int first, int count);

// The channels of `leading`, then those of `trailing`: both of the same width and height.
// NULL (and both destroyed) when memory runs out or either is NULL.
srf_rows *srf_joined_rows(srf_rows *leading, srf_rows *trailing);

// Every value clamped to 0...1 (NaN stays NaN, as the upscaler clamps). NULL (and `source`
// destroyed) when memory runs out.
srf_rows *srf_clamped_rows(srf_rows *source);

#endif
