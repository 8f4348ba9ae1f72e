// Decoding any PNG into 8- or 16-bit interleaved gray, gray+alpha, RGB or RGBA: row by row
// (cpng_reader_*), or whole (cpng_read, built on the rows).
#include "png_errors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Everything libpng touches lives here, on the heap, so nothing it changes is a local variable
// of a function that called setjmp (those are indeterminate after longjmp).
struct cpng_reader {
  cpng_errors errors;
  FILE *file;
  png_structp png;
  png_infop info;
  cpng_layout layout;
  size_t row_bytes;
  int next_row;
  int failed;  // libpng's state is undefined after it longjmp'ed: only closing is safe
  // Interlaced files only: the whole decoded image, and pointers to its rows.
  png_bytep image;
  png_bytep *rows;
};

// libpng's stock reader says only "Read Error" when the file ends early; say what happened.
static void read_data(png_structp png, png_bytep data, size_t length) {
  cpng_reader *r = png_get_io_ptr(png);
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

// malloc(rows * row_bytes), or NULL when that does not fit in memory (or in size_t).
static void *allocate_rows(size_t rows, size_t row_bytes) {
  if (rows > 0 && row_bytes > SIZE_MAX / rows) return NULL;
  return malloc(rows * row_bytes);
}

// Reads the header; an interlaced image is decoded whole right away.
static cpng_status start(cpng_reader *r) {
  if (setjmp(png_jmpbuf(r->png))) return r->errors.status;

  png_set_read_fn(r->png, r, read_data);
  png_set_sig_bytes(r->png, 8);
  png_read_info(r->png, r->info);
  request_transforms(r->png, r->info);

  cpng_layout *layout = &r->layout;
  layout->width = (int)png_get_image_width(r->png, r->info);
  layout->height = (int)png_get_image_height(r->png, r->info);
  layout->channels = png_get_channels(r->png, r->info);
  layout->bit_depth = png_get_bit_depth(r->png, r->info);
  r->row_bytes = png_get_rowbytes(r->png, r->info);
  size_t packed =
      (size_t)layout->width * (size_t)layout->channels * (size_t)(layout->bit_depth / 8);
  if (layout->channels < 1 || layout->channels > 4 ||
      (layout->bit_depth != 8 && layout->bit_depth != 16) || r->row_bytes != packed) {
    return cpng_fail(&r->errors, CPNG_ERR_CORRUPT, "unsupported PNG layout");
  }

  if (png_get_interlace_type(r->png, r->info) == PNG_INTERLACE_NONE) return CPNG_OK;
  size_t height = (size_t)layout->height;
  r->image = allocate_rows(height, r->row_bytes);
  r->rows = malloc(sizeof(png_bytep) * height);
  if (r->image == NULL || r->rows == NULL) {
    return cpng_fail(&r->errors, CPNG_ERR_MEMORY, "image is too large for memory");
  }
  for (size_t y = 0; y < height; y++) r->rows[y] = r->image + y * r->row_bytes;
  png_read_image(r->png, r->rows);
  // Reading up to IEND checks the trailing chunks' CRCs and catches files cut after the pixels.
  png_read_end(r->png, NULL);
  return CPNG_OK;
}

cpng_status cpng_reader_open(const char *path, cpng_reader **reader, cpng_layout *layout,
                             char *message, size_t message_size) {
  *reader = NULL;
  memset(layout, 0, sizeof *layout);
  cpng_errors errors;
  cpng_begin(&errors, message, message_size, CPNG_ERR_CORRUPT);
  cpng_reader *r = calloc(1, sizeof *r);
  if (r == NULL) return cpng_fail(&errors, CPNG_ERR_MEMORY, "out of memory");
  r->errors = errors;

  r->file = fopen(path, "rb");
  if (r->file == NULL) {
    cpng_status status = cpng_fail(&r->errors, CPNG_ERR_OPEN, strerror(errno));
    cpng_reader_close(r);
    return status;
  }

  png_byte signature[8];
  size_t got = fread(signature, 1, sizeof signature, r->file);
  cpng_status status = CPNG_OK;
  if (got < sizeof signature && ferror(r->file)) {  // e.g. the path is a directory
    status = cpng_fail(&r->errors, CPNG_ERR_IO, strerror(errno));
  } else if (got < sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0) {
    status = cpng_fail(&r->errors, CPNG_ERR_NOT_PNG, "not a PNG file");
  } else {
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->errors, cpng_on_error,
                                    cpng_on_warning);
    if (r->png != NULL) r->info = png_create_info_struct(r->png);
    status = r->png == NULL || r->info == NULL
                 ? cpng_fail(&r->errors, CPNG_ERR_MEMORY, "out of memory")
                 : start(r);
  }
  if (status != CPNG_OK) {
    cpng_reader_close(r);
    return status;
  }
  *layout = r->layout;
  *reader = r;
  return CPNG_OK;
}

static cpng_status decode_row(cpng_reader *r, png_bytep row) {
  if (setjmp(png_jmpbuf(r->png))) return r->errors.status;
  png_read_row(r->png, row, NULL);
  if (r->next_row + 1 == r->layout.height) png_read_end(r->png, NULL);
  return CPNG_OK;
}

cpng_status cpng_reader_read_row(cpng_reader *r, void *row, char *message,
                                 size_t message_size) {
  cpng_begin(&r->errors, message, message_size, CPNG_ERR_CORRUPT);
  if (r->failed) return cpng_fail(&r->errors, CPNG_ERR_ARGUMENT, "the reader failed earlier");
  if (r->next_row >= r->layout.height) {
    return cpng_fail(&r->errors, CPNG_ERR_ARGUMENT, "every row has been read");
  }
  cpng_status status = CPNG_OK;
  if (r->image != NULL) {
    memcpy(row, r->rows[r->next_row], r->row_bytes);
  } else {
    status = decode_row(r, row);
  }
  if (status != CPNG_OK) {
    r->failed = 1;
    return status;
  }
  r->next_row += 1;
  return CPNG_OK;
}

void cpng_reader_close(cpng_reader *r) {
  if (r == NULL) return;
  if (r->png != NULL) png_destroy_read_struct(&r->png, &r->info, NULL);
  if (r->file != NULL) fclose(r->file);
  free(r->rows);
  free(r->image);
  free(r);
}

cpng_status cpng_read(const char *path, cpng_image *out, char *message, size_t message_size) {
  memset(out, 0, sizeof *out);
  cpng_reader *r;
  cpng_layout layout;
  cpng_status status = cpng_reader_open(path, &r, &layout, message, message_size);
  if (status != CPNG_OK) return status;

  size_t height = (size_t)layout.height;
  if (r->image != NULL) {  // already decoded whole: take it over
    out->pixels = r->image;
    r->image = NULL;
  } else {
    out->pixels = allocate_rows(height, r->row_bytes);
    if (out->pixels == NULL) {
      status = cpng_fail(&r->errors, CPNG_ERR_MEMORY, "image is too large for memory");
    }
    for (size_t y = 0; y < height && status == CPNG_OK; y++) {
      status = cpng_reader_read_row(r, (png_bytep)out->pixels + y * r->row_bytes, message,
                                    message_size);
    }
  }
  cpng_reader_close(r);
  if (status != CPNG_OK) {
    cpng_free(out);
    return status;
  }
  out->width = layout.width;
  out->height = layout.height;
  out->channels = layout.channels;
  out->bit_depth = layout.bit_depth;
  return CPNG_OK;
}

void cpng_free(cpng_image *image) {
  free(image->pixels);
  image->pixels = NULL;
}
