// The network `srfuse compile` generated, as the executable's main and the static library see
// it: the model's description (in the generated plan) and the plan runner (plan_network.c),
// which plugs into the image pipeline as an srf_network.
#ifndef SRF_COMPILED_H
#define SRF_COMPILED_H
#include <stddef.h>

#include "srf_network.h"

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

typedef struct srf_compiled_network srf_compiled_network;

// Allocates the working memory and starts `threads` threads (0: all cores). On failure returns
// NULL with the reason in `message`.
srf_compiled_network *srf_compiled_network_create(int threads, char *message, size_t message_size);

// Releases everything; safe on NULL.
void srf_compiled_network_destroy(srf_compiled_network *network);

// The compiled network as the image pipeline runs it (valid while `network` lives).
srf_network srf_compiled_network_interface(srf_compiled_network *network);

#endif
