// Kernel values and their sums in double, weights stored and normalized in float; the
// four-tap bicubic entirely in float, as PyTorch computes it, and MATLAB's bicubic in float as
// BasicSR's PyTorch code computes it. (The order of operations is the one srfuse's outputs
// have had since the pipeline was written in Swift: keep it, or the output bits change.)
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

// MATLAB's symmetric extension, which BasicSR's padding copies: ..., 1, 0 | 0, 1, ..., n - 1 |
// n - 1, n - 2, ..., repeating with period 2n (BasicSR pads at most one image's length).
static int mirrored(long long index, int size) {
  long long period = 2 * (long long)size;
  long long m = index % period;
  if (m < 0) m += period;
  return m < size ? (int)m : (int)(period - 1 - m);
}

// Output sample i gathers `values[j - lo]` for j in lo...hi onto the input indices `edge` maps
// them to (both edge rules map a run of indices onto a run): sums in double, stored as float.
static void gather(srf_taps *taps, int i, int size, long long lo, long long hi,
                   int (*edge)(long long, int), const double *values, double *sums) {
  int first = edge(lo, size), last = first;
  for (long long j = lo; j <= hi; j++) {
    int e = edge(j, size);
    first = e < first ? e : first;
    last = e > last ? e : last;
  }
  for (int k = 0; k <= last - first; k++) sums[k] = 0;
  for (long long j = lo; j <= hi; j++) sums[edge(j, size) - first] += values[j - lo];
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
    gather(taps, i, in_size, lo, hi, clamped, values, sums);
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
    gather(taps, i, in_size, lo, lo + 3, clamped, values, sums);
  }
}

// BasicSR's cubic() on float32 tensors: each tensor operation rounds to float, in its order
// (PyTorch's absx**3 is absx * absx * absx).
static float matlab_cubic(float x) {
  float absx = fabsf(x);
  float absx2 = absx * absx;
  float absx3 = absx * absx;
  absx3 = absx3 * absx;
  float near = 1.5f * absx3, t = 2.5f * absx2;
  near = near - t;
  near = near + 1;
  near = near * (absx <= 1 ? 1.0f : 0.0f);
  float far = -0.5f * absx3;
  t = 2.5f * absx2;
  far = far + t;
  t = 4 * absx;
  far = far - t;
  far = far + 2;
  far = far * (absx > 1 && absx <= 2 ? 1.0f : 0.0f);
  return near + far;
}

// torch.sum of a float32 row, added in the order PyTorch's CPU kernel adds it (SumKernel.cpp;
// checked against torch 2.15 on random rows, AVX-512 machine): a row shorter than 8 in four
// interleaved partial sums; a longer one as 8 lanes over whole groups of 8 (each lane in four
// partial sums over groups of 4 vectors), then the scalar tail from 0, then the lanes. Beyond
// 512 samples (scales under 1/127) PyTorch cascades the partial sums; this does not.
static float torch_row_sum(const float *row, int n) {
  if (n < 8) {
    float partial[4] = {0, 0, 0, 0};
    int k = 0;
    for (; k + 4 <= n; k += 4) {
      for (int j = 0; j < 4; j++) partial[j] += row[k + j];
    }
    for (; k < n; k++) partial[0] += row[k];
    return ((partial[0] + partial[1]) + partial[2]) + partial[3];
  }
  float lanes[4][8] = {{0}};
  int vectors = n / 8, v = 0;
  for (; v + 4 <= vectors; v += 4) {
    for (int j = 0; j < 4; j++) {
      for (int l = 0; l < 8; l++) lanes[j][l] += row[(v + j) * 8 + l];
    }
  }
  for (; v < vectors; v++) {
    for (int l = 0; l < 8; l++) lanes[0][l] += row[v * 8 + l];
  }
  for (int j = 1; j < 4; j++) {
    for (int l = 0; l < 8; l++) lanes[0][l] += lanes[j][l];
  }
  float sum = 0;
  for (int k = vectors * 8; k < n; k++) sum += row[k];
  for (int l = 0; l < 8; l++) sum += lanes[0][l];
  return sum;
}

// The taps' arrays for `count` outputs of at most `stride` taps each.
static int allocate_taps(srf_taps *taps, int count, int stride) {
  taps->count = count;
  taps->stride = stride;
  taps->first = srf_allocate_array((size_t)count, sizeof(int));
  taps->length = srf_allocate_array((size_t)count, sizeof(int));
  taps->weights = srf_allocate_array((size_t)count * (size_t)stride, sizeof(float));
  return taps->first == NULL || taps->length == NULL || taps->weights == NULL ? SRF_OUT_OF_MEMORY : SRF_OK;
}

// calculate_weights_indices, step by step: BasicSR's scalars are Python doubles that PyTorch
// rounds to float where they meet a float32 tensor; its tensors are float32 throughout.
// `matrix` holds BasicSR's out_size x p weights, `lefts` each row's first 1-based index.
static void matlab_taps(srf_taps *taps, int in_size, int out_size, double scale, int p,
                        float *matrix, float *lefts, double *values, double *sums) {
  int antialias = scale < 1;
  double kernel_width = antialias ? 4 / scale : 4;
  float fscale = (float)scale, offset = (float)(0.5 * (1 - 1 / scale));
  float half_width = (float)(kernel_width / 2);
  for (int i = 0; i < out_size; i++) {
    float u = (float)(i + 1) / fscale;
    u = u + offset;
    float left = floorf(u - half_width);
    lefts[i] = left;
    float *row = matrix + (size_t)i * p;
    for (int k = 0; k < p; k++) {
      float index = left + (float)k;
      float distance = u - index;
      row[k] = antialias ? fscale * matlab_cubic(distance * fscale) : matlab_cubic(distance);
    }
    float sum = torch_row_sum(row, p);
    for (int k = 0; k < p; k++) row[k] = row[k] / sum;
  }
  // BasicSR drops the first and last column when any weight in the first is zero, else the
  // last two when any in the last is (not MATLAB's "columns that are all zero").
  int first_has_zero = 0, last_has_zero = 0;
  for (int i = 0; i < out_size; i++) {
    first_has_zero |= matrix[(size_t)i * p] == 0;
    last_has_zero |= matrix[(size_t)i * p + p - 1] == 0;
  }
  int kept_first = first_has_zero ? 1 : 0, kept = first_has_zero || last_has_zero ? p - 2 : p;
  for (int i = 0; i < out_size; i++) {
    for (int k = 0; k < kept; k++) values[k] = (double)matrix[(size_t)i * p + kept_first + k];
    long long lo = (long long)lefts[i] + kept_first - 1;  // 0-based
    gather(taps, i, in_size, lo, lo + kept - 1, mirrored, values, sums);
  }
}

int srf_matlab_taps_make(srf_taps *taps, int in_size, int out_size, double scale) {
  *taps = (srf_taps){0, 0, NULL, NULL, NULL};
  int p = (int)ceil(scale < 1 ? 4 / scale : 4) + 2;
  int status = allocate_taps(taps, out_size, p);
  float *matrix = srf_allocate_array((size_t)out_size * (size_t)p, sizeof(float));
  float *lefts = srf_allocate_array((size_t)out_size, sizeof(float));
  double *values = srf_allocate_array((size_t)p, sizeof(double));
  double *sums = srf_allocate_array((size_t)p, sizeof(double));
  if (status != SRF_OK || matrix == NULL || lefts == NULL || values == NULL || sums == NULL) {
    srf_taps_free(taps);
    status = SRF_OUT_OF_MEMORY;
  } else {
    matlab_taps(taps, in_size, out_size, scale, p, matrix, lefts, values, sums);
  }
  free(matrix);
  free(lefts);
  free(values);
  free(sums);
  return status;
}

int srf_taps_make(srf_taps *taps, int in_size, int out_size, srf_filter filter) {
  if (filter == SRF_MATLAB_BICUBIC) {
    return srf_matlab_taps_make(taps, in_size, out_size, (double)out_size / (double)in_size);
  }
  *taps = (srf_taps){0, 0, NULL, NULL, NULL};
  double scale = (double)in_size / (double)out_size;
  // At most 2 x radius + 1 input samples lie within the kernel's reach.
  double stretch = scale > 1 ? scale : 1;
  int stride = filter == SRF_LANCZOS3 ? (int)(6 * stretch) + 2
               : filter == SRF_BICUBIC ? (int)(4 * stretch) + 2
                                       : 4;
  int status = allocate_taps(taps, out_size, stride);
  double *values = srf_allocate_array((size_t)stride, sizeof(double));
  double *sums = srf_allocate_array((size_t)stride, sizeof(double));
  if (status != SRF_OK || values == NULL || sums == NULL) {
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
