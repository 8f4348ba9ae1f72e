// Progress of one image on standard error, for srfuse upscale and compiled upscalers alike:
// rewritten in place on a terminal, one line per 10% otherwise (logs stay short).
#ifndef SRF_UPSCALE_PROGRESS_H
#define SRF_UPSCALE_PROGRESS_H

typedef struct {
  const char *label;
  int interactive;
  int last_percent;
  int last_tenth;
} srf_progress_line;

void srf_progress_line_start(srf_progress_line *line, const char *label);

// An srf_progress_fn: `line` is the srf_progress_line.
void srf_progress_line_update(void *line, double fraction);

// Replaces the progress with `message`.
void srf_progress_line_finish(const srf_progress_line *line, const char *message);

#endif
