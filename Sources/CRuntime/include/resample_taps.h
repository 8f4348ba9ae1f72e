// Per-axis resampling weights, for the filters the image pipeline uses. Output sample i sits at input coordinate
// (i + 0.5) * in / out - 0.5 (align_corners = false); samples beyond an edge repeat the edge
// sample, so their weights are added to the edge sample's. SRF_MATLAB_BICUBIC is the exception
// on both counts (see srf_matlab_taps_make).
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
  // MATLAB's imresize bicubic (Keys a = -0.5) as BasicSR ports it, antialiased when shrinking,
  // mirrored at the edges: the degradation BasicSR's LQ images and validation are made with.
  SRF_MATLAB_BICUBIC,
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
// SRF_OUT_OF_MEMORY. SRF_MATLAB_BICUBIC here is srf_matlab_taps_make at scale out / in.
int srf_taps_make(srf_taps *taps, int in_size, int out_size, srf_filter filter);

// BasicSR's calculate_weights_indices (basicsr/utils/matlab_functions.py) for `out_size`
// samples at `scale` (> 0), which the sizes only approximate: imresize makes
// ceil(in_size * scale) samples and places output i (from 0) at input (i + 0.5) / scale - 0.5,
// so 37 -> 10 at scale 1/4 is not 37 -> 10 at 10/37. The weights are BasicSR's float32 ones,
// computed in its order; its trimming of zero-weight columns is kept. Samples beyond an edge
// mirror the image (index -1 is sample 0, as BasicSR's symmetric padding and MATLAB's
// imresize have it; beyond a whole mirrored image, MATLAB's periodic extension, where BasicSR
// fails), and their weights are added to the sample they mirror.
int srf_matlab_taps_make(srf_taps *taps, int in_size, int out_size, double scale);

// Safe on taps that failed to be made.
void srf_taps_free(srf_taps *taps);

#endif
