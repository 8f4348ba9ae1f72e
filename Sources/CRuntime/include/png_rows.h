// PNG files as row sources and row sinks, over the shim's row reader and writer. Failures
// read `cannot read 'PATH': REASON` or `cannot write 'PATH': REASON`.
#ifndef SRF_PNG_ROWS_H
#define SRF_PNG_ROWS_H

#include <stddef.h>

#include "row_source.h"

// Opens `path` and reads its header. Rows hold floats in 0...1: sample / 255, or / 65535 for
// 16-bit files (`*bit_depth` says which). Palette images come as RGB or RGBA, tRNS as alpha.
int srf_png_rows_open(const char *path, srf_rows **rows, int *bit_depth, char *message,
                      size_t message_size);

// Writes every row of `rows` as a `bit_depth`-bit PNG: values clamped to 0...1 (NaN becomes
// 0) and rounded half up. The file appears atomically: on any failure, a failure of `rows`
// included, no file is left behind.
int srf_png_write_rows(srf_rows *rows, int bit_depth, const char *path, char *message,
                       size_t message_size);

#endif
