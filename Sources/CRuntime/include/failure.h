// How the image pipeline reports failure: a status, and a one-line reason in a buffer the
// caller owns (as the PNG shim does). Nothing in the pipeline prints or exits; the caller
// decides what to do with the reason.
#ifndef SRF_FAILURE_H
#define SRF_FAILURE_H

#include <stddef.h>

enum {
  SRF_OK = 0,
  SRF_FAILED = 1,
  // Kept apart so the caller that knows which image was being upscaled can say so.
  SRF_OUT_OF_MEMORY = 2,
};

// Writes the printf-style reason into `message` (always NUL-terminated, cut if too long) and
// returns `status`, so failure paths are one line.
int srf_fail(char *message, size_t message_size, int status, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

// srf_fail with SRF_OUT_OF_MEMORY and "out of memory".
int srf_out_of_memory(char *message, size_t message_size);

// malloc(count * size), or NULL when that does not fit in size_t.
void *srf_allocate_array(size_t count, size_t size);

#endif
