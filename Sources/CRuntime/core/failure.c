#include "failure.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int srf_fail(char *message, size_t message_size, int status, const char *format, ...) {
  if (message != NULL && message_size > 0) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, message_size, format, arguments);
    va_end(arguments);
  }
  return status;
}

int srf_out_of_memory(char *message, size_t message_size) {
  return srf_fail(message, message_size, SRF_OUT_OF_MEMORY, "out of memory");
}

void *srf_allocate_array(size_t count, size_t size) {
  if (size > 0 && count > SIZE_MAX / size) return NULL;
  return malloc(count * size);
}
