// A small C face over libpng, for the pipeline (png_rows.c) and for SRImage's PNG.
//
// libpng reports errors by longjmp, which Swift cannot survive, so every call into libpng
// happens here behind a setjmp. Callers get a status code and a one-line reason in a buffer
// they own; the reason never includes the path (the caller adds it).
//
// Images can be read and written whole (cpng_read, cpng_write) or row by row (cpng_reader_*,
// cpng_writer_*), so that large images never need to be in memory at once.
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
  CPNG_ERR_ARGUMENT,    // the caller passed an image libpng cannot store, or misused a handle
} cpng_status;

// The layout of decoded samples: interleaved, rows packed without padding. Samples are uint8_t
// when bit_depth is 8 and native-endian uint16_t when it is 16.
typedef struct {
  int width;
  int height;
  int channels;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth;  // 8 or 16
} cpng_layout;

// A decoded image.
typedef struct {
  int width;
  int height;
  int channels;
  int bit_depth;
  void *pixels;   // malloc'ed; release with cpng_free
} cpng_image;

// Reads any PNG: palette becomes RGB, tRNS becomes an alpha channel, gray below 8 bits becomes
// 8-bit, interlacing is undone. 16-bit files stay 16-bit. On failure `out->pixels` is NULL and
// `message` holds the reason.
cpng_status cpng_read(const char *path, cpng_image *out, char *message, size_t message_size);

// Releases the pixels of an image returned by cpng_read; safe on an image that failed to read.
void cpng_free(cpng_image *image);

// Writes `pixels` (the cpng_image layout) atomically: the PNG goes to a temporary file in the
// same directory, which is renamed over `path` only once it is complete and flushed. On
// failure the temporary file is removed and `path` is untouched.
cpng_status cpng_write(const char *path, int width, int height, int channels, int bit_depth,
                       const void *pixels, char *message, size_t message_size);

// MARK: Row by row

// An open PNG being decoded one row at a time, with the same conversions as cpng_read.
// Interlaced files are decoded whole when opened (libpng needs every pass to finish any row),
// so only they cost a whole image of samples.
typedef struct cpng_reader cpng_reader;

// Opens `path` and reads its header. On success *reader must be closed with cpng_reader_close.
cpng_status cpng_reader_open(const char *path, cpng_reader **reader, cpng_layout *layout,
                             char *message, size_t message_size);

// Decodes the next row into `row` (width * channels samples). Reading the last row also reads
// the rest of the file, so a file damaged after its pixels fails here too. After a failure the
// reader can only be closed.
cpng_status cpng_reader_read_row(cpng_reader *reader, void *row, char *message,
                                 size_t message_size);

// Releases the reader; safe on NULL.
void cpng_reader_close(cpng_reader *reader);

// A PNG being encoded one row at a time into a temporary file beside its target.
typedef struct cpng_writer cpng_writer;

// Creates the temporary file and writes the header.
cpng_status cpng_writer_open(const char *path, int width, int height, int channels,
                             int bit_depth, cpng_writer **writer, char *message,
                             size_t message_size);

// Encodes the next row (width * channels samples, the cpng_image layout).
cpng_status cpng_writer_write_row(cpng_writer *writer, const void *row, char *message,
                                  size_t message_size);

// After the last row: completes the file, flushes it to the disk and renames it over the
// target. Releases the writer whatever happens; on failure the temporary file is removed.
cpng_status cpng_writer_finish(cpng_writer *writer, char *message, size_t message_size);

// Gives up: removes the temporary file and releases the writer; safe on NULL.
void cpng_writer_abandon(cpng_writer *writer);

#ifdef __cplusplus
}
#endif

#endif
