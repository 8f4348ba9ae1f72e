#include "strip_upscaler.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "row_queue.h"

typedef struct {
  srf_rows rows;
  srf_rows *source;
  const srf_network *network;
  srf_tiling tiling;
  srf_tile_grid grid;
  srf_progress_fn progress;
  void *progress_context;
  // Output row length before cropping the padding to the input multiple, per channel.
  int64_t padded_output_width;
  // For each strip, the first source row it or any later strip reads (reflect padding at the
  // bottom reads rows above the last window again).
  int64_t *keep_from;

  // Source rows input_start ..< input_start + input.count.
  srf_row_queue input;
  int64_t input_start;
  // Output rows output_start ..< output_start + output.count (padded width), blended so far;
  // those below finished_below are final.
  srf_row_queue output;
  int64_t output_start;
  int64_t finished_below;
  size_t next_strip;
  size_t tiles_done;

  // One tile: its window size, the source column of each window column, input and output.
  int64_t tile_height, tile_width;
  int64_t *source_columns;
  float *tile_input, *tile_output;
} strip_upscaler;

static void report(strip_upscaler *s, double fraction) {
  if (s->progress != NULL) s->progress(s->progress_context, fraction);
}

// Reads source rows up to and including `last`.
static int read_input(strip_upscaler *s, int64_t last, char *message, size_t message_size) {
  size_t length = (size_t)s->source->channels * (size_t)s->source->width;
  while (s->input_start + (int64_t)s->input.count <= last) {
    float *row = srf_allocate_array(length, sizeof(float));
    if (row == NULL) return srf_out_of_memory(message, message_size);
    int status = s->source->next_row(s->source, row, message, message_size);
    if (status != SRF_OK) {
      free(row);
      return status;
    }
    if (srf_row_queue_push(&s->input, row) != SRF_OK) {
      return srf_out_of_memory(message, message_size);
    }
  }
  return SRF_OK;
}

// The network's input for one tile: channels x rows x columns, reflect-padded past the bottom
// and right edges, as if the whole image had been padded.
static void fill_tile(strip_upscaler *s, const srf_axis_tile *rows, const srf_axis_tile *columns) {
  int64_t source_width = s->source->width, source_height = s->source->height;
  int64_t height = s->tile_height, width = s->tile_width;
  for (int64_t x = 0; x < width; x++) {
    s->source_columns[x] = srf_reflected(columns->window_start + x, source_width);
  }
  for (int64_t y = 0; y < height; y++) {
    int64_t source_row = srf_reflected(rows->window_start + y, source_height);
    const float *row = srf_row_queue_at(&s->input, (size_t)(source_row - s->input_start));
    for (int channel = 0; channel < s->rows.channels; channel++) {
      float *target = s->tile_input + (channel * height + y) * width;
      const float *plane = row + channel * source_width;
      for (int64_t x = 0; x < width; x++) target[x] = plane[s->source_columns[x]];
    }
  }
}

// Where a network run reports its progress: one group of one tile.
typedef struct {
  strip_upscaler *upscaler;
  int group, groups;
} run_progress;

static void report_run(void *context, double fraction) {
  run_progress *run = context;
  strip_upscaler *s = run->upscaler;
  double total = (double)(s->grid.rows.count * s->grid.columns.count);
  report(s, ((double)s->tiles_done + ((double)run->group + fraction) / run->groups) / total);
}

// Runs the network once per group of three channels (colour, then alpha as gray RGB).
static int run_tile(strip_upscaler *s, char *message, size_t message_size) {
  int groups = s->rows.channels / 3, scale = s->tiling.scale;
  size_t in_group = 3 * (size_t)(s->tile_height * s->tile_width);
  size_t out_group = in_group * (size_t)scale * (size_t)scale;
  for (int group = 0; group < groups; group++) {
    run_progress progress = {s, group, groups};
    int status = s->network->run(s->network->context, s->tile_input + group * in_group,
                                 (int)s->tile_height, (int)s->tile_width,
                                 s->tile_output + group * out_group,
                                 s->progress != NULL ? report_run : NULL, &progress, message,
                                 message_size);
    if (status != SRF_OK) return status;
  }
  return SRF_OK;
}

// Adds the tile's output, weighted, where its weight is not zero.
static void blend(strip_upscaler *s, const srf_axis_tile *rows, const srf_axis_tile *columns) {
  int scale = s->tiling.scale;
  int64_t tile_height = s->tile_height * scale, tile_width = s->tile_width * scale;
  int64_t top = rows->window_start * scale, left = columns->window_start * scale;
  const float *tile = s->tile_output;
  for (int64_t y = rows->support_start; y < rows->support_end; y++) {
    float row_weight = rows->weights[y - rows->support_start];
    float *row = srf_row_queue_at(&s->output, (size_t)(y - s->output_start));
    for (int channel = 0; channel < s->rows.channels; channel++) {
      int64_t target = channel * s->padded_output_width;
      int64_t source = (channel * tile_height + y - top) * tile_width - left;
      for (int64_t x = columns->support_start; x < columns->support_end; x++) {
        float weight = row_weight * columns->weights[x - columns->support_start];
        row[target + x] += weight * tile[source + x];
      }
    }
  }
}

// Runs every tile of the next strip and blends it in.
static int run_strip(strip_upscaler *s, char *message, size_t message_size) {
  const srf_axis_tile *rows = &s->grid.rows.tiles[s->next_strip];
  int64_t last = 0;
  for (int64_t y = rows->window_start; y < rows->window_end; y++) {
    int64_t source_row = srf_reflected(y, s->source->height);
    if (source_row > last) last = source_row;
  }
  int status = read_input(s, last, message, message_size);
  if (status != SRF_OK) return status;
  size_t row_length = (size_t)s->rows.channels * (size_t)s->padded_output_width;
  while (s->output_start + (int64_t)s->output.count < rows->support_end) {
    float *row = calloc(row_length, sizeof(float));
    if (row == NULL || srf_row_queue_push(&s->output, row) != SRF_OK) {
      return srf_out_of_memory(message, message_size);
    }
  }
  double total = (double)(s->grid.rows.count * s->grid.columns.count);
  if (s->tiles_done == 0) report(s, 0);
  for (size_t c = 0; c < s->grid.columns.count; c++) {
    const srf_axis_tile *columns = &s->grid.columns.tiles[c];
    fill_tile(s, rows, columns);
    status = run_tile(s, message, message_size);
    if (status != SRF_OK) return status;
    blend(s, rows, columns);
    s->tiles_done += 1;
    report(s, (double)s->tiles_done / total);
  }
  s->next_strip += 1;
  if (s->next_strip == s->grid.rows.count) {
    s->finished_below = INT64_MAX;
    return SRF_OK;
  }
  s->finished_below = s->grid.rows.tiles[s->next_strip].support_start;
  int64_t unused = s->keep_from[s->next_strip] - s->input_start;
  if (unused > (int64_t)s->input.count) unused = (int64_t)s->input.count;
  for (int64_t i = 0; i < unused; i++) free(srf_row_queue_pop(&s->input));
  s->input_start += unused;
  return SRF_OK;
}

static int next_row(srf_rows *rows, float *row, char *message, size_t message_size) {
  strip_upscaler *s = (strip_upscaler *)rows;
  while (s->output_start >= s->finished_below) {
    int status = run_strip(s, message, message_size);
    if (status != SRF_OK) return status;
  }
  float *padded = srf_row_queue_pop(&s->output);
  s->output_start += 1;
  for (int channel = 0; channel < rows->channels; channel++) {
    memcpy(row + (size_t)channel * rows->width, padded + channel * s->padded_output_width,
           (size_t)rows->width * sizeof(float));
  }
  free(padded);
  return SRF_OK;
}

static void destroy(srf_rows *rows) {
  strip_upscaler *s = (strip_upscaler *)rows;
  srf_rows_destroy(s->source);
  srf_tile_grid_free(&s->grid);
  srf_row_queue_clear(&s->input);
  srf_row_queue_clear(&s->output);
  free(s->keep_from);
  free(s->source_columns);
  free(s->tile_input);
  free(s->tile_output);
  free(s);
}

// For each strip, the first source row it or any later strip reads.
static int64_t *keep_from_rows(const srf_axis *strips, int64_t source_height) {
  int64_t *keep_from = srf_allocate_array(strips->count, sizeof(int64_t));
  if (keep_from == NULL) return NULL;
  for (size_t strip = 0; strip < strips->count; strip++) {
    const srf_axis_tile *rows = &strips->tiles[strip];
    int64_t first = INT64_MAX;
    for (int64_t y = rows->window_start; y < rows->window_end; y++) {
      int64_t source_row = srf_reflected(y, source_height);
      if (source_row < first) first = source_row;
    }
    keep_from[strip] = first;
  }
  for (size_t strip = strips->count - 1; strip-- > 0;) {
    if (keep_from[strip + 1] < keep_from[strip]) keep_from[strip] = keep_from[strip + 1];
  }
  return keep_from;
}

srf_rows *srf_strip_upscaler(srf_rows *source, const srf_network *network, const srf_tiling *tiling,
                             srf_progress_fn progress, void *progress_context) {
  strip_upscaler *s = calloc(1, sizeof *s);
  int64_t width = (int64_t)source->width * tiling->scale;
  int64_t height = (int64_t)source->height * tiling->scale;
  if (s == NULL || width > INT_MAX || height > INT_MAX) {
    free(s);
    srf_rows_destroy(source);
    return NULL;
  }
  s->rows = (srf_rows){(int)width, (int)height, source->channels, next_row, destroy};
  s->source = source;
  s->network = network;
  s->tiling = *tiling;
  s->progress = progress;
  s->progress_context = progress_context;
  s->padded_output_width = srf_round_up(tiling, source->width) * tiling->scale;
  if (srf_tile_grid_make(&s->grid, tiling, source->height, source->width) != SRF_OK) {
    destroy(&s->rows);
    return NULL;
  }
  s->keep_from = keep_from_rows(&s->grid.rows, source->height);
  // Every window of an axis has the same length.
  const srf_axis_tile *rows = &s->grid.rows.tiles[0], *columns = &s->grid.columns.tiles[0];
  s->tile_height = rows->window_end - rows->window_start;
  s->tile_width = columns->window_end - columns->window_start;
  size_t tile_size = (size_t)source->channels * (size_t)(s->tile_height * s->tile_width);
  size_t scale_squared = (size_t)tiling->scale * (size_t)tiling->scale;
  s->source_columns = srf_allocate_array((size_t)s->tile_width, sizeof(int64_t));
  s->tile_input = srf_allocate_array(tile_size, sizeof(float));
  s->tile_output = scale_squared > 0 && tile_size > SIZE_MAX / scale_squared
                       ? NULL
                       : srf_allocate_array(tile_size * scale_squared, sizeof(float));
  if (s->keep_from == NULL || s->source_columns == NULL || s->tile_input == NULL ||
      s->tile_output == NULL) {
    destroy(&s->rows);
    return NULL;
  }
  return &s->rows;
}
