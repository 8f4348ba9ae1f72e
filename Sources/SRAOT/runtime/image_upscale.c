#include "image_upscale.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel_planes.h"
#include "failure.h"
#include "png_rows.h"
#include "resampled_rows.h"
#include "tile_grid.h"

struct srf_image_upscale {
  srf_rows *rows;  // the whole pipeline, from the PNG reader to the image's channels
  char *input;
  int bit_depth;
  int input_width, input_height;
};

// The size after the model's own downscale (ImageUpscaler.nativeSize).
static int64_t native_side(int64_t side) {
  if (srf_model.post_resize == 0) return side;
  int64_t resized = (int64_t)((float)side * srf_model.post_resize);
  return resized > 1 ? resized : 1;
}

// The output side for an input side (ImageUpscaler.outputSize).
static int64_t output_side(int64_t side, float outscale) {
  if (outscale == 0) return native_side(side * srf_model.scale);
  int64_t scaled = (int64_t)roundf((float)side * outscale);
  return scaled > 1 ? scaled : 1;
}

// The network's result, then the model's downscale, then the user's output size (Lanczos, as
// Real-ESRGAN's --outscale), then clamping and the image's own channels.
static srf_rows *pipeline(srf_rows *image, srf_network *network, const srf_upscale_settings *s,
                          int target_width, int target_height) {
  int channels = image->channels;
  srf_tiling tiling = {srf_model.scale, srf_model.input_multiple, s->tile, s->pad};
  srf_rows *rows = srf_network_planes(image);
  if (rows != NULL) {
    rows = srf_strip_upscaler(rows, network, &tiling, s->progress, s->progress_context);
  }
  if (rows == NULL) return NULL;
  int native_width = (int)native_side(rows->width), native_height = (int)native_side(rows->height);
  if (native_width != rows->width || native_height != rows->height) {
    rows = srf_resampled_rows(rows, native_width, native_height, SRF_BICUBIC_NO_ANTIALIAS);
  }
  if (rows != NULL && (target_width != rows->width || target_height != rows->height)) {
    rows = srf_resampled_rows(rows, target_width, target_height, SRF_LANCZOS3);
  }
  return rows == NULL ? NULL : srf_image_channels(rows, channels);
}

int srf_image_upscale_open(srf_network *network, const char *input,
                           const srf_upscale_settings *settings, srf_image_upscale **upscale,
                           char *message, size_t message_size) {
  *upscale = NULL;
  srf_rows *image;
  int bit_depth;
  int status = srf_png_rows_open(input, &image, &bit_depth, message, message_size);
  if (status != SRF_OK) return status;
  int width = image->width, height = image->height;

  srf_tiling tiling = {srf_model.scale, srf_model.input_multiple, settings->tile, settings->pad};
  status = srf_check_windows(&tiling, height, width, srf_model.max_window, message, message_size);
  int64_t target_width = output_side(width, settings->outscale);
  int64_t target_height = output_side(height, settings->outscale);
  // PNG sides are 31-bit; so are the pipeline's row lengths (the upscaled size too).
  int64_t upscaled_width = srf_round_up(&tiling, width) * srf_model.scale;
  int64_t upscaled_height = srf_round_up(&tiling, height) * srf_model.scale;
  if (status == SRF_OK && (target_width > INT_MAX || target_height > INT_MAX ||
                           upscaled_width > INT_MAX || upscaled_height > INT_MAX)) {
    status = srf_fail(message, message_size, SRF_FAILED,
                      "cannot upscale '%s': a %dx%d image would be larger than a PNG can be",
                      input, width, height);
  }
  if (status != SRF_OK) {
    srf_rows_destroy(image);
    return status;
  }

  srf_image_upscale *u = calloc(1, sizeof *u);
  char *copy = malloc(strlen(input) + 1);
  srf_rows *rows = u == NULL || copy == NULL
                       ? NULL
                       : pipeline(image, network, settings, (int)target_width, (int)target_height);
  if (rows == NULL) {
    if (u == NULL || copy == NULL) srf_rows_destroy(image);
    free(u);
    free(copy);
    return srf_fail(message, message_size, SRF_OUT_OF_MEMORY,
                    "cannot upscale '%s' (%dx%d): out of memory", input, width, height);
  }
  strcpy(copy, input);
  *u = (srf_image_upscale){rows, copy, bit_depth, width, height};
  *upscale = u;
  return SRF_OK;
}

void srf_image_upscale_sizes(const srf_image_upscale *upscale, int *input_width,
                             int *input_height, int *output_width, int *output_height) {
  *input_width = upscale->input_width;
  *input_height = upscale->input_height;
  *output_width = upscale->rows->width;
  *output_height = upscale->rows->height;
}

int srf_image_upscale_write(srf_image_upscale *upscale, const char *output, char *message,
                            size_t message_size) {
  int status = srf_png_write_rows(upscale->rows, upscale->bit_depth, output, message, message_size);
  if (status == SRF_OUT_OF_MEMORY) {
    status = srf_fail(message, message_size, SRF_OUT_OF_MEMORY,
                      "cannot upscale '%s' (%dx%d): out of memory", upscale->input,
                      upscale->input_width, upscale->input_height);
  }
  return status;
}

void srf_image_upscale_close(srf_image_upscale *upscale) {
  if (upscale == NULL) return;
  srf_rows_destroy(upscale->rows);
  free(upscale->input);
  free(upscale);
}
