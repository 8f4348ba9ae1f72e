// The command line of a compiled upscaler, read as swift-argument-parser reads `srfuse
// upscale`'s (same option names, messages and validation).
#ifndef SRF_UPSCALE_ARGUMENTS_H
#define SRF_UPSCALE_ARGUMENTS_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
  char **inputs;  // into argv
  size_t input_count;
  const char *output;  // NULL when missing
  int tile, has_tile;
  int threads, has_threads;
  float outscale;
  int has_outscale;
  int help, version;
} srf_upscale_arguments;

// Fills `arguments` from argv[1...]. Fails with the reason (without "Error: ") in `message`
// for an unknown option, a missing or malformed value, a missing input or output, or a value
// out of range. `inputs` is malloc'ed: release with free.
int srf_parse_upscale_arguments(int argc, char **argv, srf_upscale_arguments *arguments,
                                char *message, size_t message_size);

// The usage line and where to find more, as swift-argument-parser prints them after an error.
void srf_print_usage(FILE *file, const char *program);

// The --help text.
void srf_print_help(FILE *file, const char *program);

#endif
