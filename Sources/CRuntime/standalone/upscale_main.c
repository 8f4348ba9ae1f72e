// The main of a compiled upscaler: `srfuse upscale` with the network built in. Same job
// planning, messages, progress and exit codes: 64 for a bad command line, 1 when any image
// failed (each failure is one `Error:` line, and the other images are still done), else 0.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failure.h"
#include "srf_compiled.h"
#include "upscale_arguments.h"
#include "upscale_job.h"
#include "upscale_jobs.h"

// Room for two paths and a reason.
enum { message_capacity = 16384 };

static const char *program_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

int main(int argc, char **argv) {
  const char *program = program_name(argv[0]);
  static char message[message_capacity];
  srf_upscale_arguments arguments;
  int parsed = srf_parse_upscale_arguments(argc, argv, &arguments, message, sizeof message);
  if (parsed != SRF_OK) {
    srf_print_error(message);
    free(arguments.inputs);
    if (parsed == SRF_OUT_OF_MEMORY) return 1;
    srf_print_usage(stderr, program);
    return 64;
  }
  if (arguments.help || arguments.version) {
    if (arguments.help) {
      srf_print_help(stdout, program);
    } else {
      printf("%s x%d, compiled for %s by srfuse\n", srf_model.name, srf_model.scale, srf_model.cpu);
    }
    free(arguments.inputs);
    return 0;
  }

  srf_jobs jobs;
  int planned = srf_plan_jobs(arguments.inputs, arguments.input_count, arguments.output, &jobs,
                              message, sizeof message);
  free(arguments.inputs);
  if (planned != 0) {
    srf_print_error(message);
    return 1;
  }
  int threads = arguments.has_threads ? arguments.threads : srf_model.default_threads;
  srf_compiled_network *compiled = srf_compiled_network_create(threads, message, sizeof message);
  if (compiled == NULL) {
    srf_print_error(message);
    srf_jobs_free(&jobs);
    return 1;
  }

  srf_upscale_settings settings = {
      .tile = arguments.has_tile ? arguments.tile : srf_model.default_tile,
      .pad = srf_model.tile_pad,
      .outscale = arguments.has_outscale ? arguments.outscale : 0,
      .alpha = SRF_ALPHA_NETWORK,
  };
  srf_network network = srf_compiled_network_interface(compiled);
  int failures = 0;
  for (size_t i = 0; i < jobs.count; i++) {
    failures += srf_run_upscale_job(&network, srf_model.name, &jobs.jobs[i], settings, message,
                                    sizeof message);
  }
  srf_compiled_network_destroy(compiled);
  srf_jobs_free(&jobs);
  return failures > 0 ? 1 : 0;
}
