// Per-axis resampling weights, for the filters the image pipeline uses. Output sample i sits at input coordinate
// (i + 0.5) * in / out - 0.5 (align_corners = false); samples beyond an edge repeat the edge
// sample, so their weights are added to the edge sample's.
#ifndef SRF_RESAMPLE_TAPS_H
#define SRF_RESAMPLE_TAPS_H

typedef enum {
  // Lanczos windowed sinc with three lobes, antialiased when shrinking: --outscale.
  SRF_LANCZOS3,
  // Keys cubic a = -0.75 (OpenCV's and PyTorch's value), antialiased when shrinking: alpha
  // with --alpha bicubic.
  SRF_BICUBIC,
  // Keys cubic a = -0.75 on exactly four taps, never widened (PyTorch bicubic,
  // align_corners = false): the downscale some models end with.
  SRF_BICUBIC_NO_ANTIALIAS,
} srf_filter;

// Output sample i is the sum over k < length[i] of weights[i * stride + k] times input sample
// first[i] + k.
typedef struct {
  int count;
  int stride;
  int *first;
  int *length;
  float *weights;
} srf_taps;

// Weights for resampling one axis from `in_size` to `out_size` samples. Returns SRF_OK or
// SRF_OUT_OF_MEMORY.
int srf_taps_make(srf_taps *taps, int in_size, int out_size, srf_filter filter);

// Safe on taps that failed to be made.
void srf_taps_free(srf_taps *taps);

#endif
