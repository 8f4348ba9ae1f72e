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
#include "row_channels.h"
#include "tile_grid.h"

struct srf_image_upscale {
  srf_rows *rows;  // the whole pipeline, from the PNG reader to the image's channels
  char *input;
  int bit_depth;
  int input_width, input_height;
};

// The size after the model's own downscale.
static int64_t native_side(const srf_network *network, int64_t side) {
  if (network->post_resize == 0) return side;
  int64_t resized = (int64_t)((float)side * network->post_resize);
  return resized > 1 ? resized : 1;
}

// The output side for an input side.
static int64_t output_side(const srf_network *network, int64_t side, float outscale) {
  if (outscale == 0) return native_side(network, side * network->scale);
  int64_t scaled = (int64_t)roundf((float)side * outscale);
  return scaled > 1 ? scaled : 1;
}

// The network's result on the image's colour (and, with alpha through the network, its
// alpha), then the model's downscale, then the user's output size (Lanczos, as Real-ESRGAN's
// --outscale), then clamping and `channels` channels.
static srf_rows *upscaled(srf_rows *image, int channels, const srf_network *network,
                          const srf_upscale_settings *s, int target_width, int target_height) {
  srf_tiling tiling = {network->scale, network->input_multiple, s->tile, s->pad};
  srf_rows *rows = srf_network_planes(image);
  if (rows != NULL) {
    rows = srf_strip_upscaler(rows, network, &tiling, s->progress, s->progress_context);
  }
  if (rows == NULL) return NULL;
  int native_width = (int)native_side(network, rows->width);
  int native_height = (int)native_side(network, rows->height);
  if (native_width != rows->width || native_height != rows->height) {
    rows = srf_resampled_rows(rows, native_width, native_height, SRF_BICUBIC_NO_ANTIALIAS);
  }
  if (rows != NULL && (target_width != rows->width || target_height != rows->height)) {
    rows = srf_resampled_rows(rows, target_width, target_height, SRF_LANCZOS3);
  }
  return rows == NULL ? NULL : srf_image_channels(rows, channels);
}

// The whole pipeline. With bicubic alpha, `alpha_source` is a second reader of the same file:
// its alpha is resized on its own (bicubic) while the first reader's colour goes through the
// network, and the two are joined; two readers stream at their own pace, so no rows are
// buffered between them.
static srf_rows *pipeline(srf_rows *image, srf_rows *alpha_source, const srf_network *network,
                          const srf_upscale_settings *s, int target_width, int target_height) {
  int channels = image->channels;
  if (alpha_source == NULL) return upscaled(image, channels, network, s, target_width, target_height);
  srf_rows *color = upscaled(srf_channel_range(image, 0, channels - 1), channels - 1, network, s,
                             target_width, target_height);
  srf_rows *alpha = srf_channel_range(alpha_source, channels - 1, 1);
  if (alpha != NULL) alpha = srf_resampled_rows(alpha, target_width, target_height, SRF_BICUBIC);
  return srf_joined_rows(color, srf_clamped_rows(alpha));
}

int srf_image_upscale_open(const srf_network *network, const char *input,
                           const srf_upscale_settings *settings, srf_image_upscale **upscale,
                           char *message, size_t message_size) {
  *upscale = NULL;
  srf_rows *image;
  int bit_depth;
  int status = srf_png_rows_open(input, &image, &bit_depth, message, message_size);
  if (status != SRF_OK) return status;
  int width = image->width, height = image->height;

  srf_tiling tiling = {network->scale, network->input_multiple, settings->tile, settings->pad};
  status = srf_check_windows(&tiling, height, width, network->max_window, message, message_size);
  int64_t target_width = output_side(network, width, settings->outscale);
  int64_t target_height = output_side(network, height, settings->outscale);
  // PNG sides are 31-bit; so are the pipeline's row lengths (the upscaled size too).
  int64_t upscaled_width = srf_round_up(&tiling, width) * network->scale;
  int64_t upscaled_height = srf_round_up(&tiling, height) * network->scale;
  if (status == SRF_OK && (target_width > INT_MAX || target_height > INT_MAX ||
                           upscaled_width > INT_MAX || upscaled_height > INT_MAX)) {
    status = srf_fail(message, message_size, SRF_FAILED,
                      "cannot upscale '%s': a %dx%d image would be larger than a PNG can be",
                      input, width, height);
  }
  srf_rows *alpha_source = NULL;
  int has_alpha = image->channels == 2 || image->channels == 4;
  if (status == SRF_OK && has_alpha && settings->alpha == SRF_ALPHA_BICUBIC) {
    int alpha_depth;
    status = srf_png_rows_open(input, &alpha_source, &alpha_depth, message, message_size);
    // The second reader must see the file the first one saw, or its rows would not line up.
    if (status == SRF_OK && (alpha_source->width != width || alpha_source->height != height ||
                             alpha_source->channels != image->channels || alpha_depth != bit_depth)) {
      srf_rows_destroy(alpha_source);
      alpha_source = NULL;
      status = srf_fail(message, message_size, SRF_FAILED,
                        "cannot read '%s': the file changed while it was being read", input);
    }
  }
  if (status != SRF_OK) {
    srf_rows_destroy(image);
    return status;
  }

  srf_image_upscale *u = calloc(1, sizeof *u);
  char *copy = malloc(strlen(input) + 1);
  srf_rows *rows = u == NULL || copy == NULL ? NULL
                                             : pipeline(image, alpha_source, network, settings,
                                                        (int)target_width, (int)target_height);
  if (rows == NULL) {
    if (u == NULL || copy == NULL) {
      srf_rows_destroy(image);
      srf_rows_destroy(alpha_source);
    }
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
