#define _POSIX_C_SOURCE 200809L
#include "upscale_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upscale_progress.h"

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void srf_print_error(const char *message) { fprintf(stderr, "Error: %s\n", message); }

int srf_run_upscale_job(const srf_network *network, const char *model_name, const srf_job *job,
                        srf_upscale_settings settings, char *message, size_t message_size) {
  // The line gets its label once the image's size is known; progress only comes later.
  srf_progress_line progress = {0};
  settings.progress = srf_progress_line_update;
  settings.progress_context = &progress;
  srf_image_upscale *upscale;
  if (srf_image_upscale_open(network, job->input, &settings, &upscale, message, message_size) != 0) {
    srf_print_error(message);
    return 1;
  }
  int width, height, output_width, output_height;
  srf_image_upscale_sizes(upscale, &width, &height, &output_width, &output_height);
  char *label = malloc(strlen(job->input) + strlen(model_name) + 64);
  int failed = label == NULL;
  if (failed) {
    snprintf(message, message_size, "cannot upscale '%s': out of memory", job->input);
  } else {
    sprintf(label, "%s (%dx%d, %s)", job->input, width, height, model_name);
    srf_progress_line_start(&progress, label);
    double started = seconds_now();
    failed = srf_image_upscale_write(upscale, job->output, message, message_size) != 0;
    if (!failed) {
      snprintf(message, message_size, "wrote %s (%dx%d) in %.1f s", job->output, output_width,
               output_height, seconds_now() - started);
      srf_progress_line_finish(&progress, message);
    }
  }
  if (failed) srf_print_error(message);
  srf_image_upscale_close(upscale);
  free(label);
  return failed;
}
