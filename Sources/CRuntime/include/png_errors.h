// Error plumbing shared by the reader and the writer (private to the PNG shim).
#ifndef CPNG_ERRORS_H
#define CPNG_ERRORS_H

#include <png.h>
#include "cpng.h"

// Where libpng's error callback leaves its verdict. `status` is what a longjmp out of libpng
// reports; callbacks that know better (a short read means truncation) set it before png_error.
typedef struct {
  char *message;
  size_t message_size;
  cpng_status status;
} cpng_errors;

// Points `errors` at the caller's message buffer for one call, empties it, and sets the status
// a longjmp out of libpng will report unless a callback knows better.
void cpng_begin(cpng_errors *errors, char *message, size_t message_size, cpng_status status);

// Copies `text` into the caller's buffer (always NUL-terminated, cut if too long) and returns
// `status`, so failure paths are one line.
cpng_status cpng_fail(cpng_errors *errors, cpng_status status, const char *text);

// libpng callbacks: record the message, then leave through libpng's setjmp buffer.
void cpng_on_error(png_structp png, png_const_charp text);
// Warnings describe things libpng recovered from; they are not worth a line on stderr.
void cpng_on_warning(png_structp png, png_const_charp text);

// True on little-endian hosts, where 16-bit samples need png_set_swap (PNG is big-endian).
int cpng_host_is_little_endian(void);

#endif
