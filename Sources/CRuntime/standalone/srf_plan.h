// The plan `srfuse compile` generates: for each compiled canvas width, the steps of the
// network as kernel calls over one arena, with the offsets `LoweredNetwork` computed. Offsets
// and sizes are in floats.
#ifndef SRF_PLAN_H
#define SRF_PLAN_H
#include <stddef.h>
#include <stdint.h>

typedef void (*srf_conv_kernel)(const float *input, float *output, const float *weights,
                                const float *const *operands, int64_t row_begin, int64_t row_end);
typedef void (*srf_elementwise_kernel)(float *output, const float *input, const float *const *operands,
                                       int64_t block_begin, int64_t block_end);
typedef void (*srf_layout_kernel)(const float *source, float *destination, int64_t row_begin, int64_t row_end);

// A blocked activation (NCHW16c with a one-pixel zero halo) in the arena.
typedef struct {
  size_t offset;
  int blocks;  // 16-channel blocks
  int height;
  int width;
  // A band of rows of a taller value (band-rows): the row of that value this one's row 0 is,
  // and that value's height (0 and `height` for a whole value).
  int row_origin;
  int full_height;
} srf_region;

// An epilogue operand: an activation in the arena, or packed constants.
typedef struct {
  int in_arena;  // 1: arena offset; 0: offset into srf_constants
  size_t offset;
} srf_operand;

typedef enum { SRF_STEP_CONV, SRF_STEP_ELEMENTWISE, SRF_STEP_TO_BLOCKED, SRF_STEP_FROM_BLOCKED, SRF_STEP_MOVE } srf_step_kind;

// The data movement of a `Move` step (Sources/SRRuntime/DataMovementSteps.swift).
typedef enum {
  SRF_MOVE_UPSAMPLE,
  SRF_MOVE_PIXEL_SHUFFLE,
  SRF_MOVE_PIXEL_UNSHUFFLE,
  SRF_MOVE_CHANNEL_SHIFT,
  SRF_MOVE_ZERO,
  SRF_MOVE_ROW_SHIFT
} srf_move_mapping;

typedef struct {
  srf_step_kind kind;
  srf_conv_kernel conv;                // SRF_STEP_CONV
  srf_elementwise_kernel elementwise;  // SRF_STEP_ELEMENTWISE
  srf_layout_kernel layout;            // SRF_STEP_TO_BLOCKED, SRF_STEP_FROM_BLOCKED
  srf_region output;                   // what the step writes (not for SRF_STEP_FROM_BLOCKED)
  srf_region input;                    // what it reads (conv, elementwise, from_blocked, move)
  size_t weights;                      // conv: offset into srf_constants
  const srf_operand *operands;
  int operand_count;
  // SRF_STEP_MOVE: destination channels [written_begin, written_end), rows [first_row,
  // last_row] (halo rows -1 and height included), get the source value the mapping names
  // (argument `move_argument`), or zero.
  srf_move_mapping mapping;
  int move_argument;
  int true_channels;
  int source_channels;
  int written_begin;
  int written_end;
  int first_row;
  int last_row;
} srf_step;

// The network compiled for tiles of height x width input pixels. Smaller tiles run on it too:
// only their rows are computed, and the halo they would have is zeroed after each step.
typedef struct {
  int height;
  int width;
  size_t arena_floats;
  const srf_step *steps;
  int step_count;
} srf_variant;

// Defined by the generated plan. Variants are sorted by width; all have the same height.
extern const srf_variant srf_variants[];
extern const int srf_variant_count;
extern const float srf_constants[];

// The CPU features the kernels need that this CPU lacks, as a space-separated list in
// `missing` (empty when none). Generated with the plan, for the target it was built for.
void srf_missing_cpu_features(char *missing, size_t size);

#endif
