// cpng_read: decode any PNG into 8- or 16-bit interleaved gray, gray+alpha, RGB or RGBA.
#include "errors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Everything decode() touches lives here, in the caller's frame, so nothing it changes is a
// local variable of the function that called setjmp (those are indeterminate after longjmp).
typedef struct {
  cpng_errors errors;
  FILE *file;
  png_structp png;
  png_infop info;
  png_bytep *rows;
} reader;

// libpng's stock reader says only "Read Error" when the file ends early; say what happened.
static void read_data(png_structp png, png_bytep data, size_t length) {
  reader *r = png_get_io_ptr(png);
  if (fread(data, 1, length, r->file) == length) return;
  if (ferror(r->file)) {
    r->errors.status = CPNG_ERR_IO;
    png_error(png, strerror(errno));
  }
  r->errors.status = CPNG_ERR_TRUNCATED;
  png_error(png, "file is truncated");
}

// Asks libpng for the normalized layout: at least 8 bits, no palette, transparency as alpha.
static void request_transforms(png_structp png, png_infop info) {
  int color_type = png_get_color_type(png, info);
  int bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (bit_depth == 16 && cpng_host_is_little_endian()) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
}

static cpng_status decode(reader *r, cpng_image *out) {
  if (setjmp(png_jmpbuf(r->png))) return r->errors.status;

  png_set_read_fn(r->png, r, read_data);
  png_set_sig_bytes(r->png, 8);
  png_read_info(r->png, r->info);
  request_transforms(r->png, r->info);

  out->width = (int)png_get_image_width(r->png, r->info);
  out->height = (int)png_get_image_height(r->png, r->info);
  out->channels = png_get_channels(r->png, r->info);
  out->bit_depth = png_get_bit_depth(r->png, r->info);
  size_t row_bytes = png_get_rowbytes(r->png, r->info);
  size_t packed = (size_t)out->width * (size_t)out->channels * (size_t)(out->bit_depth / 8);
  if (out->channels < 1 || out->channels > 4 || (out->bit_depth != 8 && out->bit_depth != 16) ||
      row_bytes != packed) {
    return cpng_fail(&r->errors, CPNG_ERR_CORRUPT, "unsupported PNG layout");
  }

  size_t height = (size_t)out->height;
  if (row_bytes > SIZE_MAX / height) {
    return cpng_fail(&r->errors, CPNG_ERR_MEMORY, "image is too large for memory");
  }
  out->pixels = malloc(row_bytes * height);
  r->rows = malloc(sizeof(png_bytep) * height);
  if (out->pixels == NULL || r->rows == NULL) {
    return cpng_fail(&r->errors, CPNG_ERR_MEMORY, "image is too large for memory");
  }
  for (size_t y = 0; y < height; y++) r->rows[y] = (png_bytep)out->pixels + y * row_bytes;

  png_read_image(r->png, r->rows);
  // Reading up to IEND checks the trailing chunks' CRCs and catches files cut after the pixels.
  png_read_end(r->png, NULL);
  return CPNG_OK;
}

cpng_status cpng_read(const char *path, cpng_image *out, char *message, size_t message_size) {
  memset(out, 0, sizeof *out);
  reader r = {{message, message_size, CPNG_ERR_CORRUPT}, NULL, NULL, NULL, NULL};
  cpng_fail(&r.errors, CPNG_OK, "");

  r.file = fopen(path, "rb");
  if (r.file == NULL) return cpng_fail(&r.errors, CPNG_ERR_OPEN, strerror(errno));

  png_byte signature[8];
  size_t got = fread(signature, 1, sizeof signature, r.file);
  if (got < sizeof signature && ferror(r.file)) {  // e.g. the path is a directory
    cpng_status status = cpng_fail(&r.errors, CPNG_ERR_IO, strerror(errno));
    fclose(r.file);
    return status;
  }
  if (got < sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0) {
    fclose(r.file);
    return cpng_fail(&r.errors, CPNG_ERR_NOT_PNG, "not a PNG file");
  }

  cpng_status status;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.errors, cpng_on_error, cpng_on_warning);
  if (r.png != NULL) r.info = png_create_info_struct(r.png);
  if (r.png == NULL || r.info == NULL) {
    status = cpng_fail(&r.errors, CPNG_ERR_MEMORY, "out of memory");
  } else {
    status = decode(&r, out);
  }

  png_destroy_read_struct(&r.png, &r.info, NULL);
  free(r.rows);
  fclose(r.file);
  if (status != CPNG_OK) {
    cpng_free(out);
    memset(out, 0, sizeof *out);
  }
  return status;
}

void cpng_free(cpng_image *image) {
  free(image->pixels);
  image->pixels = NULL;
}
