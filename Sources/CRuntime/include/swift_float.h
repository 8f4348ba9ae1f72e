// Float operations spelled the way Swift's standard library computes them: the pipeline was
// first written in Swift, and srfuse's outputs keep those bits. C's fminf/fmaxf differ: they drop a NaN operand, while
// Swift's min and max are plain comparisons that keep or drop it depending on its position.
#ifndef SRF_SWIFT_FLOAT_H
#define SRF_SWIFT_FLOAT_H

// Swift's min(a, b).
static inline float srf_min(float a, float b) { return b < a ? b : a; }

// Swift's max(a, b).
static inline float srf_max(float a, float b) { return b >= a ? b : a; }

// min(max(x, 0), 1): what the upscaler clamps with (NaN stays NaN).
static inline float srf_clamp(float x) { return srf_min(srf_max(x, 0), 1); }

// The clamp used when storing samples (SRImage's clampUnit too): NaN becomes 0.
static inline float srf_clamp_unit(float x) { return x > 0 ? (x < 1 ? x : 1) : 0; }

// BT.601 luma (Real-ESRGAN returns gray through cv2 BGR2GRAY).
static inline float srf_luma(float red, float green, float blue) {
  return 0.299f * red + 0.587f * green + 0.114f * blue;
}

#endif
