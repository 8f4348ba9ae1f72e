#include "png_errors.h"

#include <stdio.h>

cpng_status cpng_fail(cpng_errors *errors, cpng_status status, const char *text) {
  if (errors->message_size > 0) snprintf(errors->message, errors->message_size, "%s", text);
  return status;
}

void cpng_begin(cpng_errors *errors, char *message, size_t message_size, cpng_status status) {
  errors->message = message;
  errors->message_size = message_size;
  errors->status = status;
  cpng_fail(errors, CPNG_OK, "");
}

void cpng_on_error(png_structp png, png_const_charp text) {
  cpng_errors *errors = png_get_error_ptr(png);
  if (errors->status == CPNG_ERR_CORRUPT && errors->message_size > 0) {
    // libpng's own words ("IHDR: CRC error") mean little without saying the file is damaged.
    snprintf(errors->message, errors->message_size, "corrupt PNG data (%s)", text);
  } else {
    cpng_fail(errors, errors->status, text);
  }
  png_longjmp(png, 1);
}

void cpng_on_warning(png_structp png, png_const_charp text) {
  (void)png;
  (void)text;
}

int cpng_host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}
