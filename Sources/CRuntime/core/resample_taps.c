// Kernel values and their sums in double, weights stored and normalized in float; the
// four-tap bicubic entirely in float, as PyTorch computes it. (The order of operations is the
// one srfuse's outputs have had since the pipeline was written in Swift: keep it, or the
// output bits change.)
#include "resample_taps.h"

#include <math.h>
#include <stdlib.h>

#include "failure.h"

static const double pi = 3.14159265358979323846;  // Double.pi

static double lanczos3(double x) {
  x = fabs(x);
  if (x == 0) return 1;
  if (x >= 3) return 0;
  double px = pi * x;
  return 3 * sin(px) * sin(px / 3) / (px * px);
}

// Keys' cubic convolution kernel with a = -0.75 (OpenCV's and PyTorch's value), in double.
static double keys_cubic(double x) {
  const double a = -0.75;
  x = fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

static int clamped(long long index, int size) {
  return index < 0 ? 0 : index > size - 1 ? size - 1 : (int)index;
}

// Output sample i gathers `values[j - lo]` for j in lo...hi onto the clamped input indices:
// sums in double, stored as float.
static void gather(srf_taps *taps, int i, int size, long long lo, long long hi,
                   const double *values, double *sums) {
  int first = clamped(lo, size), last = clamped(hi, size);
  for (int k = 0; k <= last - first; k++) sums[k] = 0;
  for (long long j = lo; j <= hi; j++) sums[clamped(j, size) - first] += values[j - lo];
  taps->first[i] = first;
  taps->length[i] = last - first + 1;
  float *weights = taps->weights + (size_t)i * taps->stride;
  for (int k = 0; k <= last - first; k++) weights[k] = (float)sums[k];
}

// When shrinking, the kernel (zero beyond +-support) is stretched by the scale so every input
// sample contributes (antialiasing, as PIL and PyTorch's antialias=True do); weights are
// normalized to sum to 1. When enlarging, this is plain interpolation.
static void antialiased_taps(srf_taps *taps, int in_size, int out_size, double (*kernel)(double),
                             double support, double *values, double *sums) {
  double scale = (double)in_size / (double)out_size;
  double stretch = 1.0 >= scale ? 1.0 : scale;  // Swift's max(scale, 1)
  double radius = support * stretch;
  for (int i = 0; i < out_size; i++) {
    double center = ((double)i + 0.5) * scale - 0.5;
    long long lo = (long long)ceil(center - radius), hi = (long long)floor(center + radius);
    for (long long j = lo; j <= hi; j++) values[j - lo] = kernel(((double)j - center) / stretch);
    gather(taps, i, in_size, lo, hi, values, sums);
    float *weights = taps->weights + (size_t)i * taps->stride;
    float total = 0;
    for (int k = 0; k < taps->length[i]; k++) total += weights[k];
    for (int k = 0; k < taps->length[i]; k++) weights[k] = weights[k] / total;
  }
}

// PyTorch's upsample_bicubic2d (align_corners = false), in float as it computes it.
static float keys_near(float x) {
  const float a = -0.75f;
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}
static float keys_far(float x) {
  const float a = -0.75f;
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

static void four_tap_bicubic_taps(srf_taps *taps, int in_size, int out_size, double *values,
                                  double *sums) {
  float scale = (float)in_size / (float)out_size;
  for (int i = 0; i < out_size; i++) {
    float x = scale * ((float)i + 0.5f) - 0.5f;
    float floor_x = floorf(x);
    float t = x - floor_x;
    float weights[4] = {keys_far(t + 1), keys_near(t), keys_near(1 - t), keys_far(2 - t)};
    for (int k = 0; k < 4; k++) values[k] = (double)weights[k];
    long long lo = (long long)floor_x - 1;
    gather(taps, i, in_size, lo, lo + 3, values, sums);
  }
}

int srf_taps_make(srf_taps *taps, int in_size, int out_size, srf_filter filter) {
  *taps = (srf_taps){0, 0, NULL, NULL, NULL};
  double scale = (double)in_size / (double)out_size;
  // At most 2 x radius + 1 input samples lie within the kernel's reach.
  double stretch = scale > 1 ? scale : 1;
  int stride = filter == SRF_LANCZOS3 ? (int)(6 * stretch) + 2
               : filter == SRF_BICUBIC ? (int)(4 * stretch) + 2
                                       : 4;
  taps->count = out_size;
  taps->stride = stride;
  taps->first = srf_allocate_array((size_t)out_size, sizeof(int));
  taps->length = srf_allocate_array((size_t)out_size, sizeof(int));
  taps->weights = srf_allocate_array((size_t)out_size * (size_t)stride, sizeof(float));
  double *values = srf_allocate_array((size_t)stride, sizeof(double));
  double *sums = srf_allocate_array((size_t)stride, sizeof(double));
  int status = SRF_OK;
  if (taps->first == NULL || taps->length == NULL || taps->weights == NULL || values == NULL ||
      sums == NULL) {
    srf_taps_free(taps);
    status = SRF_OUT_OF_MEMORY;
  } else if (filter == SRF_LANCZOS3) {
    antialiased_taps(taps, in_size, out_size, lanczos3, 3, values, sums);
  } else if (filter == SRF_BICUBIC) {
    antialiased_taps(taps, in_size, out_size, keys_cubic, 2, values, sums);
  } else {
    four_tap_bicubic_taps(taps, in_size, out_size, values, sums);
  }
  free(values);
  free(sums);
  return status;
}

void srf_taps_free(srf_taps *taps) {
  free(taps->first);
  free(taps->length);
  free(taps->weights);
  *taps = (srf_taps){0, 0, NULL, NULL, NULL};
}
