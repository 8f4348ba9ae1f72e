// The compiled network, as the standalone runtime sees it. `srfuse compile` generates the plan
// (kernels, packed weights, the step table and `srf_model`); network.c runs it. The image
// pipeline and the executable's main only use this interface.
#ifndef SRF_NETWORK_H
#define SRF_NETWORK_H
#include <stddef.h>

// What the compiled model is and how it was compiled.
typedef struct {
  const char *name;    // the model's name, e.g. "realesrgan-x4plus"
  int scale;           // output size / input size
  int input_multiple;  // tile windows must be multiples of this (pixel unshuffle)
  int max_window;      // the largest tile window side (tile + 2 x pad, rounded up to the multiple)
  int default_tile;    // the tile side used when the user gives none, in input pixels
  int tile_pad;        // context added on each side of a tile, in input pixels
  int default_threads; // worker threads when the user gives none; 0 means all cores
  float post_resize;   // the bicubic downscale the model ends with (0.5, 0.75), or 0 for none
  const char *cpu;     // the CPU the kernels were built for, e.g. "x86-64-v4"
} srf_model_info;

extern const srf_model_info srf_model;

typedef struct srf_network srf_network;

// Allocates the working memory and starts `threads` threads (0: all cores). On failure returns
// NULL with the reason in `message`.
srf_network *srf_network_create(int threads, char *message, size_t message_size);

// Releases everything; safe on NULL.
void srf_network_destroy(srf_network *network);

// Runs the network on one tile. `input` is 3 planes (R, G, B) of height x width floats,
// `output` receives 3 planes of (height x scale) x (width x scale). height and width are
// positive multiples of srf_model.input_multiple and at most srf_model.max_window. Not
// reentrant: one run at a time per network.
void srf_network_run(srf_network *network, const float *input, int height, int width, float *output);

#endif
