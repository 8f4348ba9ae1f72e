#define _POSIX_C_SOURCE 200809L
#include "upscale_progress.h"

#include <stdio.h>
#include <unistd.h>

void srf_progress_line_start(srf_progress_line *line, const char *label) {
  *line = (srf_progress_line){label, isatty(STDERR_FILENO) != 0, -1, -1};
}

void srf_progress_line_update(void *context, double fraction) {
  srf_progress_line *line = context;
  int percent = (int)(fraction * 100);
  if (percent == line->last_percent) return;
  line->last_percent = percent;
  if (line->interactive) {
    fprintf(stderr, "\r%s: %d%%", line->label, percent);
  } else if (percent / 10 > line->last_tenth) {
    line->last_tenth = percent / 10;
    fprintf(stderr, "%s: %d%%\n", line->label, percent);
  }
}

void srf_progress_line_finish(const srf_progress_line *line, const char *message) {
  fprintf(stderr, line->interactive ? "\r\033[K%s\n" : "%s\n", message);
}
