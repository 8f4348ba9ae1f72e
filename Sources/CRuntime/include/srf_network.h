// A network as the image pipeline sees it: what it does to an image's size, and a callback
// that runs it on one tile. The pipeline never knows what is behind the callback: in an
// executable `srfuse compile` built, the generated plan (standalone/srf_compiled.h); in
// `srfuse upscale` and `srfuse bench`, the JIT or the reference interpreter, through a Swift
// context (SRRuntime's PipelineNetwork).
#ifndef SRF_NETWORK_H
#define SRF_NETWORK_H
#include <stddef.h>

// Gets the fraction done, 0...1, of whatever reports it.
typedef void (*srf_progress_fn)(void *context, double fraction);

// Runs the network on one tile. `input` is 3 planes (R, G, B) of height x width floats,
// `output` receives 3 planes of (height x scale) x (width x scale). height and width are
// positive multiples of input_multiple and, when max_window is not 0, at most max_window.
// `progress` (may be NULL) gets the fraction of this run done. Returns 0 (SRF_OK), or a
// failure status with a one-line reason in `message`.
typedef int (*srf_network_run_fn)(void *context, const float *input, int height, int width,
                                  float *output, srf_progress_fn progress, void *progress_context,
                                  char *message, size_t message_size);

typedef struct {
  int scale;           // output size / input size
  int input_multiple;  // tile windows must be multiples of this (pixel unshuffle)
  int max_window;      // the largest tile window side it runs, or 0 for any size
  float post_resize;   // the bicubic downscale the model ends with (0.5, 0.75), or 0 for none
  srf_network_run_fn run;
  void *context;       // handed to `run`; one run at a time
} srf_network;

#endif
