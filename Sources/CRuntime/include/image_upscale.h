// Upscaling one PNG file into another, streamed: what `srfuse upscale` and the executables
// `srfuse compile` builds run. Rows are read, upscaled strip by strip, resized and written as
// they are finished, so memory grows with the tile and the image width, not the height. Gray
// is run as RGB and written as gray; alpha is run as a gray RGB image beside the colour, or
// resized on its own (bicubic); the model's own downscale and the output scale (Lanczos)
// follow; the output has the input's channels and bit depth.
#ifndef SRF_IMAGE_UPSCALE_H
#define SRF_IMAGE_UPSCALE_H

#include <stddef.h>

#include "srf_network.h"
#include "strip_upscaler.h"

// How alpha is upscaled.
typedef enum {
  SRF_ALPHA_NETWORK,  // through the network as a gray image, as Real-ESRGAN does: sharp edges
  SRF_ALPHA_BICUBIC,  // a bicubic resize: faster, and never invents detail in the mask
} srf_alpha_mode;

typedef struct {
  int tile;        // tile side in input pixels; 0 runs each image whole
  int pad;         // context on each side of a tile, in input pixels
  float outscale;  // output size / input size, or 0 for the model's own scale
  srf_alpha_mode alpha;
  srf_progress_fn progress;  // may be NULL
  void *progress_context;
} srf_upscale_settings;

typedef struct srf_image_upscale srf_image_upscale;

// Opens `input` and plans its upscale: fails, before anything is written, when the PNG cannot
// be read or a tile window would be larger than the network was compiled for. `network` must
// outlive the upscale.
int srf_image_upscale_open(const srf_network *network, const char *input,
                           const srf_upscale_settings *settings, srf_image_upscale **upscale,
                           char *message, size_t message_size);

// The input's size and the output's.
void srf_image_upscale_sizes(const srf_image_upscale *upscale, int *input_width,
                             int *input_height, int *output_width, int *output_height);

// Runs the upscale and writes `output` atomically (no file is left behind on failure). Once
// per upscale.
int srf_image_upscale_write(srf_image_upscale *upscale, const char *output, char *message,
                            size_t message_size);

// Safe on NULL.
void srf_image_upscale_close(srf_image_upscale *upscale);

#endif
