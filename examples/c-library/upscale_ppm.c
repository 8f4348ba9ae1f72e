// Upscales a binary PPM (P6, 8-bit RGB) with a network compiled by
//   srfuse compile --emit lib --model NAME -o libupscaler.a
// and writes the result as PPM. Build:
//   cc -O2 -I. upscale_ppm.c libupscaler.a -lm -lpthread -o upscale_ppm
// Run: ./upscale_ppm input.ppm output.ppm
#include "upscaler.h"

#include <stdio.h>
#include <stdlib.h>

// Reads a P6 file with maxval 255 into 3 float planes in 0...1; NULL on any problem.
static float *read_ppm(const char *path, int *height, int *width) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  int maxval = 0;
  float *planes = NULL;
  unsigned char *pixels = NULL;
  if (fscanf(file, "P6 %d %d %d", width, height, &maxval) == 3 && maxval == 255 && *width > 0 && *height > 0 && fgetc(file) != EOF) {
    size_t count = (size_t)*width * *height;
    pixels = malloc(count * 3);
    planes = malloc(count * 3 * sizeof(float));
    if (pixels && planes && fread(pixels, 3, count, file) == count) {
      for (size_t i = 0; i < count; i++) {
        for (int c = 0; c < 3; c++) planes[c * count + i] = pixels[i * 3 + c] / 255.0f;
      }
    } else {
      free(planes);
      planes = NULL;
    }
  }
  free(pixels);
  fclose(file);
  return planes;
}

// Clamps to 0...1 and rounds half up, as srfuse writes 8-bit PNGs.
static unsigned char to_byte(float value) {
  float clamped = value > 0 ? (value < 1 ? value : 1) : 0;
  return (unsigned char)(clamped * 255.0f + 0.5f);
}

static int write_ppm(const char *path, const float *planes, int height, int width) {
  FILE *file = fopen(path, "wb");
  if (!file) return 0;
  size_t count = (size_t)width * height;
  fprintf(file, "P6\n%d %d\n255\n", width, height);
  for (size_t i = 0; i < count; i++) {
    unsigned char pixel[3] = {to_byte(planes[i]), to_byte(planes[count + i]), to_byte(planes[2 * count + i])};
    fwrite(pixel, 1, 3, file);
  }
  return fclose(file) == 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s input.ppm output.ppm\n", argv[0]);
    return 64;
  }
  int height = 0, width = 0;
  float *input = read_ppm(argv[1], &height, &width);
  if (!input) {
    fprintf(stderr, "cannot read '%s': not an 8-bit binary PPM\n", argv[1]);
    return 1;
  }
  upscaler *network = NULL;
  int status = upscaler_create(0, &network);
  if (status != UPSCALER_OK) {
    fprintf(stderr, "cannot create the upscaler: %s\n", upscaler_error_message(NULL));
    return 1;
  }
  int scale = upscaler_scale();
  float *output = malloc((size_t)3 * height * scale * width * scale * sizeof(float));
  status = output ? upscaler_run(network, input, height, width, output) : UPSCALER_OUT_OF_MEMORY;
  if (status != UPSCALER_OK) {
    fprintf(stderr, "upscaling failed: %s\n", output ? upscaler_error_message(network) : "out of memory");
    return 1;
  }
  if (!write_ppm(argv[2], output, height * scale, width * scale)) {
    fprintf(stderr, "cannot write '%s'\n", argv[2]);
    return 1;
  }
  printf("wrote %s (%dx%d)\n", argv[2], width * scale, height * scale);
  upscaler_destroy(network);
  free(input);
  free(output);
  return 0;
}
