// Runs a generated plan (srf_plan.h): the kernel calls `CompiledNetwork` makes, over one arena,
// for one tile at a time.
#define _POSIX_C_SOURCE 200809L
#include "failure.h"
#include "srf_compiled.h"
#include "srf_plan.h"
#include "thread_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BLOCK = 16, MAX_OPERANDS = 8 };

struct srf_compiled_network {
  srf_pool *pool;
  float *arena;
  float *plain_input;   // 3 x height x width of the widest variant
  float *plain_output;  // the same, times scale in both directions
};

// Not zeroed: touching a 700 MiB arena up front costs start-up time and memory for rows a small
// tile never uses. Whatever lies beyond a tile's rows and columns is read only by outputs that
// lie beyond them too (its halo is zeroed by the kernels and zero_virtual_halo), and those are
// cropped away.
static float *aligned_floats(size_t floats) {
  void *memory = NULL;
  size_t bytes = (floats < BLOCK ? BLOCK : floats) * sizeof(float);
  return posix_memalign(&memory, 64, bytes) == 0 ? memory : NULL;
}

srf_compiled_network *srf_compiled_network_create(int threads, char *message, size_t message_size) {
  // Before any kernel runs: an instruction the CPU lacks would kill the process with SIGILL.
  char missing[256];
  srf_missing_cpu_features(missing, sizeof missing);
  if (missing[0]) {
    snprintf(message, message_size, "this CPU lacks %s, which this program was compiled for (%s); compile it again with srfuse compile --target-cpu native or x86-64-v3",
             missing, srf_model.cpu);
    return NULL;
  }
  const srf_variant *widest = &srf_variants[srf_variant_count - 1];
  size_t arena = 0;
  for (int i = 0; i < srf_variant_count; i++) {
    if (srf_variants[i].arena_floats > arena) arena = srf_variants[i].arena_floats;
  }
  size_t plain = (size_t)3 * widest->height * widest->width;
  size_t scale2 = (size_t)srf_model.scale * srf_model.scale;
  if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  srf_compiled_network *network = calloc(1, sizeof *network);
  if (network) {
    network->arena = aligned_floats(arena);
    network->plain_input = aligned_floats(plain);
    network->plain_output = aligned_floats(plain * scale2);
    network->pool = srf_pool_create(threads);
  }
  if (!network || !network->arena || !network->plain_input || !network->plain_output || !network->pool) {
    snprintf(message, message_size, "cannot allocate the %.0f MiB the network needs for %dx%d tiles, or start %d threads",
             (double)(arena + plain + plain * scale2) * sizeof(float) / 1048576, widest->height, widest->width, threads);
    srf_compiled_network_destroy(network);
    return NULL;
  }
  return network;
}

void srf_compiled_network_destroy(srf_compiled_network *network) {
  if (!network) return;
  srf_pool_destroy(network->pool);
  free(network->arena);
  free(network->plain_input);
  free(network->plain_output);
  free(network);
}

// MARK: Steps

// One step of one run: what the parallel loop bodies need.
typedef struct {
  const srf_step *step;
  float *arena;
  const float *operands[MAX_OPERANDS];
  const float *plain_input;
  float *plain_output;
} step_call;

static void run_conv(void *context, int begin, int end) {
  step_call *call = context;
  const srf_step *step = call->step;
  step->conv(call->arena + step->input.offset, call->arena + step->output.offset, srf_constants + step->weights,
             call->operands, begin, end);
}

static void run_elementwise(void *context, int begin, int end) {
  step_call *call = context;
  const srf_step *step = call->step;
  step->elementwise(call->arena + step->output.offset, call->arena + step->input.offset, call->operands, begin, end);
}

static void run_to_blocked(void *context, int begin, int end) {
  step_call *call = context;
  call->step->layout(call->plain_input, call->arena + call->step->output.offset, begin, end);
}

static void run_from_blocked(void *context, int begin, int end) {
  step_call *call = context;
  call->step->layout(call->arena + call->step->input.offset, call->plain_output, begin, end);
}

// The float index of (channel, y, x) in a blocked region; y and x may be -1 (the halo).
static size_t blocked_index(const srf_region *region, int channel, int y, int x) {
  return region->offset + ((((size_t)(channel / BLOCK) * (region->height + 2) + (y + 1)) * (region->width + 2) + (x + 1)) * BLOCK) + channel % BLOCK;
}

// As `Move.blockCopy` in Swift: whether the move copies whole blocks row by row, destination
// block b and row y being source block b - *block_shift and row y + *row_shift.
static int copies_whole_blocks(const srf_step *step, int *block_shift, int *row_shift) {
  int first = step->move_argument;
  if (step->mapping == SRF_MOVE_ROW_SHIFT) {
    *block_shift = 0, *row_shift = first;
    return 1;
  }
  if (step->mapping == SRF_MOVE_CHANNEL_SHIFT && first % BLOCK == 0 && step->source_channels % BLOCK == 0 &&
      step->written_begin == first && step->written_end == first + step->source_channels &&
      step->true_channels >= step->written_end && step->input.height == step->output.height &&
      step->input.width == step->output.width) {
    *block_shift = first / BLOCK, *row_shift = 0;
    return 1;
  }
  return 0;
}

// As `Move.copyBlocks` in Swift: a row (halo pixels included) at a time.
static void copy_blocks(step_call *call, int block_shift, int row_shift, int begin, int end) {
  const srf_step *step = call->step;
  const srf_region *to = &step->output, *from = &step->input;
  size_t row = (size_t)(to->width + 2) * BLOCK;
  for (int block = step->written_begin / BLOCK + begin; block < step->written_begin / BLOCK + end; block++) {
    for (int y = step->first_row; y <= step->last_row; y++) {
      float *target = call->arena + blocked_index(to, block * BLOCK, y, -1);
      int source = y + row_shift;
      if (y >= 0 && y < to->height && source >= 0 && source < from->height) {
        memcpy(target, call->arena + blocked_index(from, (block - block_shift) * BLOCK, source, -1), row * sizeof(float));
      } else {
        memset(target, 0, row * sizeof(float));
      }
    }
  }
}

// As `Move.run` in Swift: every written channel and row, halo included.
static void run_move(void *context, int begin, int end) {
  step_call *call = context;
  const srf_step *step = call->step;
  int block_shift, row_shift;
  if (copies_whole_blocks(step, &block_shift, &row_shift)) return copy_blocks(call, block_shift, row_shift, begin, end);
  const srf_region *to = &step->output, *from = &step->input;
  int r = step->move_argument;
  for (int c = step->written_begin + begin; c < step->written_begin + end; c++) {
    for (int y = step->first_row; y <= step->last_row; y++) {
      for (int x = -1; x <= to->width; x++) {
        float value = 0;
        if (c < step->true_channels && y >= 0 && y < to->height && x >= 0 && x < to->width && step->mapping != SRF_MOVE_ZERO) {
          int sc = c, sy = y, sx = x;
          switch (step->mapping) {
            case SRF_MOVE_UPSAMPLE: sy = y / r; sx = x / r; break;
            case SRF_MOVE_PIXEL_SHUFFLE: sc = c * r * r + (y % r) * r + x % r; sy = y / r; sx = x / r; break;
            case SRF_MOVE_PIXEL_UNSHUFFLE: sc = c / (r * r); sy = y * r + (c % (r * r)) / r; sx = x * r + c % r; break;
            case SRF_MOVE_CHANNEL_SHIFT: sc = c - r; break;
            case SRF_MOVE_ZERO: break;
            case SRF_MOVE_ROW_SHIFT: break;
          }
          if (sc < step->source_channels) value = call->arena[blocked_index(from, sc, sy, sx)];
        }
        call->arena[blocked_index(to, c, y, x)] = value;
      }
    }
  }
}

// A tile smaller than the variant computes only its own rows and columns; everything below
// and right of them is zeroed for the next step to read: the pixels next to them are the zero
// halo its own size would have had, and Winograd kernels read a few pixels further, which the
// JIT's kernels for the tile's own size read as zeros (so both give the same bits).
static void zero_virtual_halo(float *arena, const srf_region *region, int rows, int columns) {
  size_t row = (size_t)(region->width + 2) * BLOCK, plane = (size_t)(region->height + 2) * row;
  for (int block = 0; block < region->blocks; block++) {
    float *base = arena + region->offset + block * plane;
    if (rows < region->height) memset(base + (rows + 1) * row, 0, (region->height - rows + 1) * row * sizeof(float));
    if (columns < region->width) {
      size_t beyond = (size_t)(region->width - columns + 1) * BLOCK;
      for (int y = 0; y < rows; y++) memset(base + (y + 1) * row + (columns + 1) * BLOCK, 0, beyond * sizeof(float));
    }
  }
}

// An srf_network_run_fn; `context` is the srf_compiled_network. Progress is reported after each
// step.
static int run(void *context, const float *input, int height, int width, float *output, srf_progress_fn progress,
               void *progress_context, char *message, size_t message_size) {
  (void)message, (void)message_size;
  srf_compiled_network *network = context;
  const srf_variant *variant = &srf_variants[srf_variant_count - 1];
  for (int i = 0; i < srf_variant_count; i++) {
    if (srf_variants[i].width >= width) {
      variant = &srf_variants[i];
      break;
    }
  }
  int canvas_height = variant->height, canvas_width = variant->width, scale = srf_model.scale;
  for (int c = 0; c < 3; c++) {
    for (int y = 0; y < height; y++) {
      memcpy(network->plain_input + ((size_t)c * canvas_height + y) * canvas_width, input + ((size_t)c * height + y) * width,
             (size_t)width * sizeof(float));
    }
  }
  step_call call = {.arena = network->arena, .plain_input = network->plain_input, .plain_output = network->plain_output};
  for (int index = 0; index < variant->step_count; index++) {
    const srf_step *step = &variant->steps[index];
    call.step = step;
    for (int k = 0; k < step->operand_count; k++) {
      const srf_operand *operand = &step->operands[k];
      call.operands[k] = operand->in_arena ? network->arena + operand->offset : srf_constants + operand->offset;
    }
    // Every value's size is the canvas's times a fixed ratio, so the tile's is too; a band of
    // rows holds those of the tile's rows that fall in it.
    const srf_region *written = &step->output;
    int rows = written->full_height * height / canvas_height - written->row_origin, columns = written->width * width / canvas_width;
    if (rows < 0) rows = 0;
    if (rows > written->height) rows = written->height;
    switch (step->kind) {
      case SRF_STEP_CONV: srf_pool_parallel_for(network->pool, rows, run_conv, &call); break;
      case SRF_STEP_ELEMENTWISE: srf_pool_parallel_for(network->pool, step->output.blocks, run_elementwise, &call); break;
      case SRF_STEP_TO_BLOCKED: srf_pool_parallel_for(network->pool, rows, run_to_blocked, &call); break;
      case SRF_STEP_MOVE: {
        int count = step->written_end - step->written_begin, block_shift, row_shift;
        if (copies_whole_blocks(step, &block_shift, &row_shift)) count /= BLOCK;
        srf_pool_parallel_for(network->pool, count, run_move, &call);
        break;
      }
      case SRF_STEP_FROM_BLOCKED:
        srf_pool_parallel_for(network->pool, step->input.height * height / canvas_height, run_from_blocked, &call);
        break;
    }
    if (step->kind != SRF_STEP_FROM_BLOCKED) zero_virtual_halo(network->arena, &step->output, rows, columns);
    if (progress != NULL) progress(progress_context, (double)(index + 1) / variant->step_count);
  }
  int out_height = height * scale, out_width = width * scale, canvas_out_width = canvas_width * scale;
  for (int c = 0; c < 3; c++) {
    for (int y = 0; y < out_height; y++) {
      memcpy(output + ((size_t)c * out_height + y) * out_width,
             network->plain_output + ((size_t)c * canvas_height * scale + y) * canvas_out_width, (size_t)out_width * sizeof(float));
    }
  }
  return SRF_OK;
}

srf_network srf_compiled_network_interface(srf_compiled_network *network) {
  return (srf_network){srf_model.scale, srf_model.input_multiple, srf_model.max_window, srf_model.post_resize, run, network};
}
