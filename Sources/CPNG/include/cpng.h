// A small C face over libpng for Swift.
//
// libpng reports errors by longjmp, which Swift cannot survive, so every call into libpng
// happens here behind a setjmp. Callers get a status code and a one-line reason in a buffer
// they own; the reason never includes the path (the Swift side adds it).
#ifndef CPNG_H
#define CPNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CPNG_OK = 0,
  CPNG_ERR_OPEN,        // the file could not be opened or created
  CPNG_ERR_NOT_PNG,     // no PNG signature
  CPNG_ERR_TRUNCATED,   // the file ended before the image did
  CPNG_ERR_CORRUPT,     // libpng rejected the data (bad CRC, bad chunk, bad zlib stream, ...)
  CPNG_ERR_MEMORY,      // the pixel buffer could not be allocated
  CPNG_ERR_IO,          // a read, write, flush or rename failed
  CPNG_ERR_ARGUMENT,    // the caller passed an image libpng cannot store
} cpng_status;

// A decoded image: interleaved samples, rows packed without padding. Samples are uint8_t when
// bit_depth is 8 and native-endian uint16_t when it is 16.
typedef struct {
  int width;
  int height;
  int channels;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth;  // 8 or 16
  void *pixels;   // malloc'ed; release with cpng_free
} cpng_image;

// Reads any PNG: palette becomes RGB, tRNS becomes an alpha channel, gray below 8 bits becomes
// 8-bit, interlacing is undone. 16-bit files stay 16-bit. On failure `out->pixels` is NULL and
// `message` holds the reason.
cpng_status cpng_read(const char *path, cpng_image *out, char *message, size_t message_size);

// Releases the pixels of an image returned by cpng_read; safe on an image that failed to read.
void cpng_free(cpng_image *image);

// Writes `pixels` (same layout as cpng_image) atomically: the PNG goes to a temporary file in
// the same directory, which is renamed over `path` only once it is complete and flushed. On
// failure the temporary file is removed and `path` is untouched.
cpng_status cpng_write(const char *path, int width, int height, int channels, int bit_depth,
                       const void *pixels, char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif
