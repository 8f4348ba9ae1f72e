// The main of a compiled upscaler: `srfuse upscale` with the network built in. Same job
// planning, messages, progress and exit codes: 64 for a bad command line, 1 when any image
// failed (each failure is one `Error:` line, and the other images are still done), else 0.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "failure.h"
#include "image_upscale.h"
#include "srf_network.h"
#include "upscale_arguments.h"
#include "upscale_jobs.h"
#include "upscale_progress.h"

// Room for two paths and a reason.
enum { message_capacity = 16384 };

static const char *program_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void print_error(const char *message) { fprintf(stderr, "Error: %s\n", message); }

// Upscales one file, showing progress; 0, or 1 after printing why it failed.
static int run_job(srf_network *network, const srf_job *job, srf_upscale_settings settings,
                   char *message) {
  // The line gets its label once the image's size is known; progress only comes later.
  srf_progress_line progress = {0};
  settings.progress = srf_progress_line_update;
  settings.progress_context = &progress;
  srf_image_upscale *upscale;
  if (srf_image_upscale_open(network, job->input, &settings, &upscale, message,
                             message_capacity) != 0) {
    print_error(message);
    return 1;
  }
  int width, height, output_width, output_height;
  srf_image_upscale_sizes(upscale, &width, &height, &output_width, &output_height);
  char *label = malloc(strlen(job->input) + strlen(srf_model.name) + 64);
  int failed = label == NULL;
  if (failed) {
    snprintf(message, message_capacity, "cannot upscale '%s': out of memory", job->input);
  } else {
    sprintf(label, "%s (%dx%d, %s)", job->input, width, height, srf_model.name);
    srf_progress_line_start(&progress, label);
    double started = seconds_now();
    failed = srf_image_upscale_write(upscale, job->output, message, message_capacity) != 0;
    if (!failed) {
      snprintf(message, message_capacity, "wrote %s (%dx%d) in %.1f s", job->output, output_width,
               output_height, seconds_now() - started);
      srf_progress_line_finish(&progress, message);
    }
  }
  if (failed) print_error(message);
  srf_image_upscale_close(upscale);
  free(label);
  return failed;
}

int main(int argc, char **argv) {
  const char *program = program_name(argv[0]);
  static char message[message_capacity];
  srf_upscale_arguments arguments;
  int parsed = srf_parse_upscale_arguments(argc, argv, &arguments, message, sizeof message);
  if (parsed != SRF_OK) {
    print_error(message);
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
    print_error(message);
    return 1;
  }
  int threads = arguments.has_threads ? arguments.threads : srf_model.default_threads;
  srf_network *network = srf_network_create(threads, message, sizeof message);
  if (network == NULL) {
    print_error(message);
    srf_jobs_free(&jobs);
    return 1;
  }

  srf_upscale_settings settings = {
      .tile = arguments.has_tile ? arguments.tile : srf_model.default_tile,
      .pad = srf_model.tile_pad,
      .outscale = arguments.has_outscale ? arguments.outscale : 0,
  };
  int failures = 0;
  for (size_t i = 0; i < jobs.count; i++) {
    failures += run_job(network, &jobs.jobs[i], settings, message);
  }
  srf_network_destroy(network);
  srf_jobs_free(&jobs);
  return failures > 0 ? 1 : 0;
}
