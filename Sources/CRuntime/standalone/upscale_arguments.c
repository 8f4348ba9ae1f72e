#include "upscale_arguments.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "srf_compiled.h"

// An option that takes a value, and how swift-argument-parser names it in messages.
typedef struct {
  const char *name;
  const char *short_name;  // or NULL
  const char *value_name;
} value_option;

static const value_option output_option = {"--output", "-o", "<output>"};
static const value_option tile_option = {"--tile", NULL, "<tile>"};
static const value_option threads_option = {"--threads", NULL, "<threads>"};
static const value_option outscale_option = {"--outscale", NULL, "<outscale>"};
static const value_option *const value_options[] = {&output_option, &tile_option, &threads_option,
                                                    &outscale_option};

// Swift's Int(text): optional sign and decimal digits, nothing else.
static int parse_int(const char *text, int *value) {
  if (text[0] == 0 || text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r')) return -1;
  char *end;
  errno = 0;
  long long parsed = strtoll(text, &end, 10);
  if (*end != 0 || errno != 0 || parsed < INT_MIN || parsed > INT_MAX) return -1;
  *value = (int)parsed;
  return 0;
}

// Swift's Float(text).
static int parse_float(const char *text, float *value) {
  if (text[0] == 0 || text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r')) return -1;
  char *end;
  *value = strtof(text, &end);
  return *end == 0 ? 0 : -1;
}

// Float's description in Swift: the shortest digits that read back as the same float, in
// decimal notation with at least one fraction digit from 1e-4 up to 2^24, otherwise as
// d.ddde±XX.
static void float_text(float value, char *buffer, size_t size) {
  if (isnan(value)) {
    snprintf(buffer, size, "nan");
    return;
  }
  if (isinf(value)) {
    snprintf(buffer, size, value < 0 ? "-inf" : "inf");
    return;
  }
  if (value == 0) {
    snprintf(buffer, size, signbit(value) ? "-0.0" : "0.0");
    return;
  }
  char digits[32];
  int precision = 0;
  for (; precision < 9; precision++) {
    snprintf(digits, sizeof digits, "%.*e", precision, (double)value);
    if (strtof(digits, NULL) == value) break;
  }
  float magnitude = fabsf(value);
  if (magnitude < 1e-4f || magnitude > 16777216.0f) {
    char *e = strchr(digits, 'e');
    int exponent = atoi(e + 1);
    *e = 0;
    snprintf(buffer, size, "%se%c%02d", digits, exponent < 0 ? '-' : '+', abs(exponent));
    return;
  }
  // Enough fraction digits for the shortest form, then trailing zeros trimmed to one.
  int exponent = atoi(strchr(digits, 'e') + 1);
  int fraction = precision - exponent > 1 ? precision - exponent : 1;
  snprintf(buffer, size, "%.*f", fraction, (double)value);
  size_t length = strlen(buffer);
  while (length > 2 && buffer[length - 1] == '0' && buffer[length - 2] != '.') buffer[--length] = 0;
}

// The option named by `argument` ("--tile" or "--tile=8"), or NULL.
static const value_option *find_option(const char *argument, const char **inline_value) {
  *inline_value = NULL;
  for (size_t i = 0; i < sizeof value_options / sizeof *value_options; i++) {
    const value_option *option = value_options[i];
    size_t length = strlen(option->name);
    if (strcmp(argument, option->name) == 0 ||
        (option->short_name != NULL && strcmp(argument, option->short_name) == 0)) {
      return option;
    }
    if (strncmp(argument, option->name, length) == 0 && argument[length] == '=') {
      *inline_value = argument + length + 1;
      return option;
    }
  }
  return NULL;
}

static int store(srf_upscale_arguments *arguments, const value_option *option, const char *spelled,
                 const char *value, char *message, size_t message_size) {
  int valid = 0;
  if (option == &output_option) {
    arguments->output = value;
    valid = 1;
  } else if (option == &tile_option) {
    valid = parse_int(value, &arguments->tile) == 0;
    arguments->has_tile = 1;
  } else if (option == &threads_option) {
    valid = parse_int(value, &arguments->threads) == 0;
    arguments->has_threads = 1;
  } else {
    valid = parse_float(value, &arguments->outscale) == 0;
    arguments->has_outscale = 1;
  }
  if (valid) return SRF_OK;
  return srf_fail(message, message_size, SRF_FAILED, "The value '%s' is invalid for '%s %s'", value,
                  spelled, option->value_name);
}

// Unlike swift-argument-parser, a value may start with "-", so `--tile -1` is read as -1 and
// rejected by validate() rather than reported as a missing value.
static int parse(int argc, char **argv, srf_upscale_arguments *arguments, char *message,
                 size_t message_size) {
  int only_inputs = 0;
  for (int i = 1; i < argc; i++) {
    const char *argument = argv[i];
    if (only_inputs || argument[0] != '-' || strcmp(argument, "-") == 0) {
      arguments->inputs[arguments->input_count++] = argv[i];
      continue;
    }
    if (strcmp(argument, "--") == 0) {
      only_inputs = 1;
    } else if (strcmp(argument, "-h") == 0 || strcmp(argument, "--help") == 0) {
      arguments->help = 1;
    } else if (strcmp(argument, "--version") == 0) {
      arguments->version = 1;
    } else {
      const char *value;
      const value_option *option = find_option(argument, &value);
      if (option == NULL) {
        return srf_fail(message, message_size, SRF_FAILED, "Unknown option '%s'", argument);
      }
      int is_long = value != NULL || strncmp(argument, "--", 2) == 0;
      const char *spelled = is_long ? option->name : option->short_name;
      if (value == NULL && i + 1 == argc) {
        return srf_fail(message, message_size, SRF_FAILED, "Missing value for '%s %s'", spelled,
                        option->value_name);
      }
      if (value == NULL) value = argv[++i];
      int status = store(arguments, option, spelled, value, message, message_size);
      if (status != SRF_OK) return status;
    }
  }
  return SRF_OK;
}

// Upscale.validate()
static int validate(const srf_upscale_arguments *arguments, char *message, size_t message_size) {
  const int failed = SRF_FAILED;
  if (arguments->input_count == 0) {
    return srf_fail(message, message_size, failed, "Missing expected argument '<inputs> ...'");
  }
  if (arguments->output == NULL) {
    return srf_fail(message, message_size, failed, "Missing expected argument '--output <output>'");
  }
  if (arguments->has_tile && arguments->tile < 0) {
    return srf_fail(message, message_size, failed, "--tile must be 0 or positive, not %d",
                    arguments->tile);
  }
  float outscale = arguments->outscale;
  if (arguments->has_outscale && !(outscale > 0 && outscale <= 64)) {
    char shown[48];
    float_text(outscale, shown, sizeof shown);
    return srf_fail(message, message_size, failed, "--outscale must be in (0, 64], not %s", shown);
  }
  if (arguments->has_threads && arguments->threads < 1) {
    return srf_fail(message, message_size, failed, "--threads must be at least 1, not %d",
                    arguments->threads);
  }
  return SRF_OK;
}

int srf_parse_upscale_arguments(int argc, char **argv, srf_upscale_arguments *arguments,
                                char *message, size_t message_size) {
  *arguments = (srf_upscale_arguments){0};
  arguments->inputs = calloc((size_t)argc, sizeof *arguments->inputs);
  if (arguments->inputs == NULL) return srf_out_of_memory(message, message_size);
  int status = parse(argc, argv, arguments, message, message_size);
  if (status == SRF_OK && !arguments->help && !arguments->version) {
    status = validate(arguments, message, message_size);
  }
  return status;
}

void srf_print_usage(FILE *file, const char *program) {
  fprintf(file,
          "Usage: %s <inputs> ... --output <output> [--tile <tile>] [--threads <threads>] "
          "[--outscale <outscale>]\n  See '%s --help' for more information.\n",
          program, program);
}

void srf_print_help(FILE *file, const char *program) {
  fprintf(file, "OVERVIEW: Upscale PNG images with %s (x%d), compiled for %s by srfuse.\n\n",
          srf_model.name, srf_model.scale, srf_model.cpu);
  fprintf(file,
          "USAGE: %s <inputs> ... --output <output> [--tile <tile>] [--threads <threads>] "
          "[--outscale <outscale>]\n\n",
          program);
  fputs("ARGUMENTS:\n"
        "  <inputs>                PNG files or directories of PNG files.\n\n"
        "OPTIONS:\n"
        "  -o, --output <output>   The output PNG file, or a directory (one output per input,\n"
        "                          same file name).\n",
        file);
  fprintf(file,
          "  --tile <tile>           Tile side in input pixels; 0 runs each image whole. A tile\n"
          "                          and %d pixels of context on each side must fit in %d\n"
          "                          pixels. (default: %d)\n",
          srf_model.tile_pad, srf_model.max_window, srf_model.default_tile);
  if (srf_model.default_threads > 0) {
    fprintf(file, "  --threads <threads>     Worker threads. (default: %d)\n",
            srf_model.default_threads);
  } else {
    fputs("  --threads <threads>     Worker threads. (default: all cores)\n", file);
  }
  fputs("  --outscale <outscale>   Output size as a multiple of the input size (resized from\n"
        "                          the model's native scale with Lanczos).\n"
        "  --version               The model and the CPU this program was compiled for.\n"
        "  -h, --help              Show help information.\n",
        file);
}
