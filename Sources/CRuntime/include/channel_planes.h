// Between an image's channels and the planes the network runs on: gray is run as RGB and
// returned as BT.601 luma, and alpha (when it goes through the network) is run beside the
// colour as a gray RGB image and returned the same way.
#ifndef SRF_CHANNEL_PLANES_H
#define SRF_CHANNEL_PLANES_H

#include "row_source.h"

// Rows of 1 to 4 channels (gray, gray+alpha, RGB, RGBA) as 3 planes (RGB), or 6 when there is
// alpha (RGB, then alpha three times). NULL (and `image` destroyed) when memory runs out.
srf_rows *srf_network_planes(srf_rows *image);

// The inverse on upscaled planes: every plane clamped to 0...1, then back to `channels`
// channels. NULL (and `planes` destroyed) when memory runs out.
srf_rows *srf_image_channels(srf_rows *planes, int channels);

#endif
